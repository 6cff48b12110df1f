//! The Thrift schema of the Parquet structures kura hands the parquet crate (60.1): every
//! field the crate decodes by id, with the type it decodes it as, and the spec's other fields.
//! Field ids and types are those of `parquet.thrift` and of the crate's decoders.

use super::{Field, Ty};

const fn f(id: i16, ty: Ty) -> Field {
    Field { id, ty }
}

const EMPTY: &[Field] = &[];
const STATISTICS: &[Field] = &[
    f(1, Ty::Binary),
    f(2, Ty::Binary),
    f(3, Ty::I64),
    f(4, Ty::I64),
    f(5, Ty::Binary),
    f(6, Ty::Binary),
    f(7, Ty::Bool),
    f(8, Ty::Bool),
    f(9, Ty::I64),
];
const KEY_VALUE: &[Field] = &[f(1, Ty::Binary), f(2, Ty::Binary)];
const PAGE_ENCODING_STATS: &[Field] = &[f(1, Ty::I32), f(2, Ty::I32), f(3, Ty::I32)];
const SORTING_COLUMN: &[Field] = &[f(1, Ty::I32), f(2, Ty::Bool), f(3, Ty::Bool)];
const SIZE_STATISTICS: &[Field] = &[f(1, Ty::I64), f(2, Ty::List(&Ty::I64)), f(3, Ty::List(&Ty::I64))];
const BOUNDING_BOX: &[Field] = &[
    f(1, Ty::Double),
    f(2, Ty::Double),
    f(3, Ty::Double),
    f(4, Ty::Double),
    f(5, Ty::Double),
    f(6, Ty::Double),
    f(7, Ty::Double),
    f(8, Ty::Double),
];
const GEOSPATIAL_STATISTICS: &[Field] = &[f(1, Ty::Struct(BOUNDING_BOX)), f(2, Ty::List(&Ty::I32))];
const DECIMAL: &[Field] = &[f(1, Ty::I32), f(2, Ty::I32)];
const TIME_UNIT: &[Field] = &[f(1, Ty::Struct(EMPTY)), f(2, Ty::Struct(EMPTY)), f(3, Ty::Struct(EMPTY))];
const TIME: &[Field] = &[f(1, Ty::Bool), f(2, Ty::Struct(TIME_UNIT))];
const INTEGER: &[Field] = &[f(1, Ty::I8), f(2, Ty::Bool)];
const VARIANT: &[Field] = &[f(1, Ty::I8)];
const GEOMETRY: &[Field] = &[f(1, Ty::Binary)];
const GEOGRAPHY: &[Field] = &[f(1, Ty::Binary), f(2, Ty::I32)];
const LOGICAL_TYPE: &[Field] = &[
    f(1, Ty::Struct(EMPTY)),
    f(2, Ty::Struct(EMPTY)),
    f(3, Ty::Struct(EMPTY)),
    f(4, Ty::Struct(EMPTY)),
    f(5, Ty::Struct(DECIMAL)),
    f(6, Ty::Struct(EMPTY)),
    f(7, Ty::Struct(TIME)),
    f(8, Ty::Struct(TIME)),
    f(10, Ty::Struct(INTEGER)),
    f(11, Ty::Struct(EMPTY)),
    f(12, Ty::Struct(EMPTY)),
    f(13, Ty::Struct(EMPTY)),
    f(14, Ty::Struct(EMPTY)),
    f(15, Ty::Struct(EMPTY)),
    f(16, Ty::Struct(VARIANT)),
    f(17, Ty::Struct(GEOMETRY)),
    f(18, Ty::Struct(GEOGRAPHY)),
    f(19, Ty::Struct(EMPTY)),
];
const SCHEMA_ELEMENT: &[Field] = &[
    f(1, Ty::I32),
    f(2, Ty::I32),
    f(3, Ty::I32),
    f(4, Ty::Binary),
    f(5, Ty::I32),
    f(6, Ty::I32),
    f(7, Ty::I32),
    f(8, Ty::I32),
    f(9, Ty::I32),
    f(10, Ty::Struct(LOGICAL_TYPE)),
];
const COLUMN_META_DATA: &[Field] = &[
    f(1, Ty::I32),
    f(2, Ty::List(&Ty::I32)),
    f(3, Ty::List(&Ty::Binary)),
    f(4, Ty::I32),
    f(5, Ty::I64),
    f(6, Ty::I64),
    f(7, Ty::I64),
    f(8, Ty::List(&Ty::Struct(KEY_VALUE))),
    f(9, Ty::I64),
    f(10, Ty::I64),
    f(11, Ty::I64),
    f(12, Ty::Struct(STATISTICS)),
    f(13, Ty::List(&Ty::Struct(PAGE_ENCODING_STATS))),
    f(14, Ty::I64),
    f(15, Ty::I32),
    f(16, Ty::Struct(SIZE_STATISTICS)),
    f(17, Ty::Struct(GEOSPATIAL_STATISTICS)),
];
const ENCRYPTION_WITH_COLUMN_KEY: &[Field] = &[f(1, Ty::List(&Ty::Binary)), f(2, Ty::Binary)];
const COLUMN_CRYPTO_META_DATA: &[Field] =
    &[f(1, Ty::Struct(EMPTY)), f(2, Ty::Struct(ENCRYPTION_WITH_COLUMN_KEY))];
const COLUMN_CHUNK: &[Field] = &[
    f(1, Ty::Binary),
    f(2, Ty::I64),
    f(3, Ty::Struct(COLUMN_META_DATA)),
    f(4, Ty::I64),
    f(5, Ty::I32),
    f(6, Ty::I64),
    f(7, Ty::I32),
    f(8, Ty::Struct(COLUMN_CRYPTO_META_DATA)),
    f(9, Ty::Binary),
];
const ROW_GROUP: &[Field] = &[
    f(1, Ty::List(&Ty::Struct(COLUMN_CHUNK))),
    f(2, Ty::I64),
    f(3, Ty::I64),
    f(4, Ty::List(&Ty::Struct(SORTING_COLUMN))),
    f(5, Ty::I64),
    f(6, Ty::I64),
    f(7, Ty::I16),
];
const COLUMN_ORDER: &[Field] = &[f(1, Ty::Struct(EMPTY)), f(2, Ty::Struct(EMPTY)), f(3, Ty::Struct(EMPTY))];
const AES_GCM: &[Field] = &[f(1, Ty::Binary), f(2, Ty::Binary), f(3, Ty::Bool)];
const ENCRYPTION_ALGORITHM: &[Field] = &[f(1, Ty::Struct(AES_GCM)), f(2, Ty::Struct(AES_GCM))];

/// `FileMetaData`, the footer.
pub const FILE_META_DATA: &[Field] = &[
    f(1, Ty::I32),
    f(2, Ty::List(&Ty::Struct(SCHEMA_ELEMENT))),
    f(3, Ty::I64),
    f(4, Ty::List(&Ty::Struct(ROW_GROUP))),
    f(5, Ty::List(&Ty::Struct(KEY_VALUE))),
    f(6, Ty::Binary),
    f(7, Ty::List(&Ty::Struct(COLUMN_ORDER))),
    f(8, Ty::Struct(ENCRYPTION_ALGORITHM)),
    f(9, Ty::Binary),
];

const PAGE_LOCATION: &[Field] = &[f(1, Ty::I64), f(2, Ty::I32), f(3, Ty::I64)];
/// `OffsetIndex`, one column chunk's page locations.
pub const OFFSET_INDEX: &[Field] = &[f(1, Ty::List(&Ty::Struct(PAGE_LOCATION))), f(2, Ty::List(&Ty::I64))];

const DATA_PAGE_HEADER: &[Field] =
    &[f(1, Ty::I32), f(2, Ty::I32), f(3, Ty::I32), f(4, Ty::I32), f(5, Ty::Struct(STATISTICS))];
const DICTIONARY_PAGE_HEADER: &[Field] = &[f(1, Ty::I32), f(2, Ty::I32), f(3, Ty::Bool)];
const DATA_PAGE_HEADER_V2: &[Field] = &[
    f(1, Ty::I32),
    f(2, Ty::I32),
    f(3, Ty::I32),
    f(4, Ty::I32),
    f(5, Ty::I32),
    f(6, Ty::I32),
    f(7, Ty::Bool),
    f(8, Ty::Struct(STATISTICS)),
];
/// `PageHeader`, in front of every page of a column chunk.
pub const PAGE_HEADER: &[Field] = &[
    f(1, Ty::I32),
    f(2, Ty::I32),
    f(3, Ty::I32),
    f(4, Ty::I32),
    f(5, Ty::Struct(DATA_PAGE_HEADER)),
    f(6, Ty::Struct(EMPTY)),
    f(7, Ty::Struct(DICTIONARY_PAGE_HEADER)),
    f(8, Ty::Struct(DATA_PAGE_HEADER_V2)),
];

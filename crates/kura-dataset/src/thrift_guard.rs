//! Checks the Thrift (compact protocol) structures of a Parquet file before the parquet crate
//! decodes them. Sans-IO: byte slices in, a verdict out.
//!
//! Why: the parquet crate (60.1) skips fields it does not know, and its skip reads a list, set
//! or map of booleans as taking no bytes per element. One such list declares up to 2^31
//! elements, so a few hundred bytes of footer or page header nest into hours of CPU (found by
//! fuzzing `parquet_table`). Its typed decoders also trust a known field's id and ignore the
//! wire type written beside it, so a generic walk can disagree with what the crate reads.
//!
//! The guard walks the bytes as the Thrift spec says and rejects, besides anything malformed:
//! - a non-empty list, set or map whose elements (or keys or values) are booleans: no structure
//!   kura reads declares one, and it is the only place where the crate's reading and the spec's
//!   differ in length;
//! - a field the schema below knows, written with another wire type (or a list with another
//!   element type) than the one the crate will decode it as.
//!
//! With those gone, the crate consumes exactly the bytes the guard walked, field by field, and
//! every element takes at least one byte: decoding costs time linear in the bytes checked. The
//! schema lists every field the crate decodes by id (and the spec's others): a field id missing
//! here would let the crate read a mistyped field the guard walked as something else.

/// The Thrift types of the fields kura's schema declares.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    Bool,
    I8,
    I16,
    I32,
    I64,
    Double,
    Binary,
    List(&'static Ty),
    Struct(&'static [Field]),
}

/// One declared field of a struct (or one variant of a union).
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub id: i16,
    pub ty: Ty,
}

// Compact protocol wire types.
const BOOL_TRUE: u8 = 1;
const BOOL_FALSE: u8 = 2;
const BYTE: u8 = 3;
const I16: u8 = 4;
const I32: u8 = 5;
const I64: u8 = 6;
const DOUBLE: u8 = 7;
const BINARY: u8 = 8;
const LIST: u8 = 9;
const SET: u8 = 10;
const MAP: u8 = 11;
const STRUCT: u8 = 12;
const UUID: u8 = 13;

/// Deepest nesting walked (the parquet crate's skip stops at 64 too), and deepest schema tree.
const MAX_DEPTH: u32 = 64;
/// Most elements of one list: the crate reserves room for a list's declared size before it
/// reads an element, and an element of one byte becomes a struct of a hundred.
pub const MAX_LIST: u64 = 1 << 20;
/// Largest page, compressed or not: the crate reserves a page's uncompressed size before it
/// decompresses it.
pub const MAX_PAGE_BYTES: u64 = 512 << 20;

/// Why bytes were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    #[error("the Thrift structure ends early")]
    Truncated,
    #[error("the Thrift structure is malformed: {0}")]
    Malformed(&'static str),
    #[error("the Thrift structure nests deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("the Thrift structure holds a list of booleans, which no Parquet structure declares")]
    BooleanList,
    #[error("field {0} of a Parquet structure has the wrong Thrift type")]
    WrongType(i16),
    #[error("a list of {0} elements; kura reads lists of at most {MAX_LIST}")]
    TooMany(u64),
    #[error("a page of {0} bytes; kura reads pages of at most {MAX_PAGE_BYTES}")]
    PageTooBig(i64),
    #[error("the schema tree is malformed: {0}")]
    Schema(&'static str),
}

/// Checks that `bytes` begin with one struct of `schema`; returns the bytes it takes.
pub fn check(schema: &'static [Field], bytes: &[u8]) -> Result<usize, GuardError> {
    let mut walk = Walk { bytes, pos: 0 };
    walk.structure(Some(schema), 0)?;
    Ok(walk.pos)
}

/// A page header at the start of `bytes`: its length and the page's compressed size. Both
/// sizes must be at least 0 and at most [`MAX_PAGE_BYTES`].
pub fn page_header(bytes: &[u8]) -> Result<(usize, u64), GuardError> {
    let len = check(PAGE_HEADER, bytes)?;
    let fields = Walk { bytes: &bytes[..len], pos: 0 }.top_level_i32s(&[2, 3])?;
    let (Some(uncompressed), Some(compressed)) = (fields[0], fields[1]) else {
        return Err(GuardError::Malformed("a page header without its sizes"));
    };
    for size in [uncompressed, compressed] {
        if size < 0 || size as u64 > MAX_PAGE_BYTES {
            return Err(GuardError::PageTooBig(size.into()));
        }
    }
    Ok((len, compressed as u64))
}

/// Checks the schema tree of a footer already accepted by `check(FILE_META_DATA, ..)`: the
/// crate builds it recursively, one stack frame per level, and reserves each group's declared
/// child count, so the tree must be at most [`MAX_DEPTH`] deep and no group may declare more
/// children than elements follow it.
pub fn check_schema_tree(footer: &[u8]) -> Result<(), GuardError> {
    let children = Walk { bytes: footer, pos: 0 }.schema_children()?;
    let Some((root, rest)) = children.split_first() else { return Ok(()) };
    // Children still expected by each group being read, the root first: its length is the
    // crate's recursion depth.
    let mut open: Vec<i64> = Vec::new();
    let push = |open: &mut Vec<i64>, count: Option<i32>, left: usize| -> Result<(), GuardError> {
        let count = i64::from(count.unwrap_or(0));
        if count < 0 || count as u64 > left as u64 {
            return Err(GuardError::Schema("a group declares more children than follow it"));
        }
        if count > 0 {
            open.push(count);
            if open.len() as u32 > MAX_DEPTH {
                return Err(GuardError::Schema("the schema nests too deep"));
            }
        }
        Ok(())
    };
    push(&mut open, *root, rest.len())?;
    for (index, count) in rest.iter().enumerate() {
        while open.last() == Some(&0) {
            open.pop();
        }
        let Some(top) = open.last_mut() else { break };
        *top -= 1;
        push(&mut open, *count, rest.len() - index - 1)?;
    }
    Ok(())
}

/// Checks every page header of a run of whole pages (a column chunk or some of its pages):
/// each header, then the page it announces, up to the end of `bytes`.
pub fn check_pages(bytes: &[u8]) -> Result<(), GuardError> {
    let mut at = 0usize;
    while at < bytes.len() {
        let (header, size) = page_header(&bytes[at..])?;
        let size = usize::try_from(size).map_err(|_| GuardError::Truncated)?;
        at = at.checked_add(header).and_then(|end| end.checked_add(size)).ok_or(GuardError::Truncated)?;
        if at > bytes.len() {
            return Err(GuardError::Truncated);
        }
    }
    Ok(())
}

struct Walk<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Walk<'_> {
    fn byte(&mut self) -> Result<u8, GuardError> {
        let byte = *self.bytes.get(self.pos).ok_or(GuardError::Truncated)?;
        self.pos += 1;
        Ok(byte)
    }

    fn skip(&mut self, len: u64) -> Result<(), GuardError> {
        let left = (self.bytes.len() - self.pos) as u64;
        if len > left {
            return Err(GuardError::Truncated);
        }
        self.pos += len as usize;
        Ok(())
    }

    /// An unsigned LEB128 varint, read as the parquet crate reads it (no length limit; high
    /// bits past 64 are dropped).
    fn varint(&mut self) -> Result<u64, GuardError> {
        let (mut value, mut shift) = (0u64, 0u32);
        loop {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f).wrapping_shl(shift);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
            shift = shift.saturating_add(7);
        }
    }

    fn zigzag(&mut self) -> Result<i64, GuardError> {
        let raw = self.varint()?;
        Ok((raw >> 1) as i64 ^ -((raw & 1) as i64))
    }

    /// A field header: its wire type and id, `None` at the stop byte. The id is `last` plus a
    /// delta, or written in full as a zigzag i16 (read truncating, as the crate does).
    fn field(&mut self, last: i16) -> Result<Option<(u8, i16)>, GuardError> {
        let header = self.byte()?;
        let wire = header & 0x0f;
        if wire == 0 {
            return Ok(None);
        }
        let id = match header >> 4 {
            0 => self.zigzag()? as i16,
            delta => {
                last.checked_add(i16::from(delta)).ok_or(GuardError::Malformed("a field id overflows"))?
            }
        };
        Ok(Some((wire, id)))
    }

    /// A struct's fields up to its stop byte; `schema` is `None` inside a field no schema knows.
    fn structure(&mut self, schema: Option<&'static [Field]>, depth: u32) -> Result<(), GuardError> {
        if depth >= MAX_DEPTH {
            return Err(GuardError::TooDeep);
        }
        let mut last = 0i16;
        loop {
            let Some((wire, id)) = self.field(last)? else { return Ok(()) };
            match schema.and_then(|fields| fields.iter().find(|field| field.id == id)) {
                Some(field) => {
                    if !wire_matches(field.ty, wire) {
                        return Err(GuardError::WrongType(id));
                    }
                    self.typed(field.ty, depth + 1)?;
                }
                None => self.untyped(wire, depth + 1)?,
            }
            last = id;
        }
    }

    /// A value of a declared type (its field's wire type already checked).
    fn typed(&mut self, ty: Ty, depth: u32) -> Result<(), GuardError> {
        match ty {
            Ty::Bool => Ok(()),
            Ty::I8 => self.byte().map(drop),
            Ty::I16 | Ty::I32 | Ty::I64 => self.varint().map(drop),
            Ty::Double => self.skip(8),
            Ty::Binary => {
                let len = self.varint()?;
                self.skip(len)
            }
            Ty::Struct(fields) => self.structure(Some(fields), depth),
            Ty::List(element) => {
                let (wire, size) = self.list_header()?;
                if size > 0 && !wire_matches(*element, wire) {
                    return Err(GuardError::Malformed("a list of another element type than declared"));
                }
                for _ in 0..size {
                    self.typed(*element, depth + 1)?;
                }
                Ok(())
            }
        }
    }

    /// A value no schema declares, walked by its wire type.
    fn untyped(&mut self, wire: u8, depth: u32) -> Result<(), GuardError> {
        if depth >= MAX_DEPTH {
            return Err(GuardError::TooDeep);
        }
        match wire {
            BOOL_TRUE | BOOL_FALSE => Ok(()),
            BYTE => self.byte().map(drop),
            I16 | I32 | I64 => self.varint().map(drop),
            DOUBLE => self.skip(8),
            BINARY => {
                let len = self.varint()?;
                self.skip(len)
            }
            LIST | SET => {
                let (element, size) = self.list_header()?;
                for _ in 0..size {
                    self.untyped(element, depth + 1)?;
                }
                Ok(())
            }
            MAP => {
                let size = self.varint()?;
                if size > MAX_LIST {
                    return Err(GuardError::TooMany(size));
                }
                if size == 0 {
                    return Ok(());
                }
                let kinds = self.byte()?;
                let (key, value) = (element_type(kinds >> 4)?, element_type(kinds & 0x0f)?);
                if is_bool(key) || is_bool(value) {
                    return Err(GuardError::BooleanList);
                }
                for _ in 0..size {
                    self.untyped(key, depth + 1)?;
                    self.untyped(value, depth + 1)?;
                }
                Ok(())
            }
            STRUCT => self.structure(None, depth),
            UUID => self.skip(16),
            _ => Err(GuardError::Malformed("an unknown Thrift type")),
        }
    }

    /// A list or set header: its element wire type and size. A non-empty list of booleans is
    /// refused here, for declared and undeclared fields alike.
    fn list_header(&mut self) -> Result<(u8, u64), GuardError> {
        let header = self.byte()?;
        if header == 0 {
            // Some writers mark an empty list with a zero element type.
            return Ok((BYTE, 0));
        }
        let element = element_type(header & 0x0f)?;
        let size = match header >> 4 {
            15 => self.varint()?,
            short => u64::from(short),
        };
        if size > 0 && is_bool(element) {
            return Err(GuardError::BooleanList);
        }
        if size > MAX_LIST {
            return Err(GuardError::TooMany(size));
        }
        Ok((element, size))
    }

    /// The values of top-level i32 fields `ids` of a struct already checked (the last value
    /// written of each, as the crate keeps).
    fn top_level_i32s<const N: usize>(&mut self, ids: &[i16; N]) -> Result<[Option<i32>; N], GuardError> {
        let mut found = [None; N];
        let mut last = 0i16;
        loop {
            let Some((wire, this)) = self.field(last)? else { return Ok(found) };
            match ids.iter().position(|id| *id == this) {
                // The crate reads an i32 as a zigzag varint, truncating.
                Some(slot) if wire == I32 => found[slot] = Some(self.zigzag()? as i32),
                // Accepted by `check` already: no boolean lists inside.
                _ => self.untyped(wire, 1)?,
            }
            last = this;
        }
    }

    /// `num_children` (field 5) of every element of a footer's schema (field 2), in order.
    fn schema_children(&mut self) -> Result<Vec<Option<i32>>, GuardError> {
        let mut children = Vec::new();
        let mut last = 0i16;
        loop {
            let Some((wire, this)) = self.field(last)? else { return Ok(children) };
            if this == 2 && wire == LIST {
                let (_, size) = self.list_header()?;
                children.clear();
                for _ in 0..size {
                    let [count] = self.top_level_i32s(&[5])?;
                    children.push(count);
                }
            } else {
                self.untyped(wire, 1)?;
            }
            last = this;
        }
    }
}

fn element_type(nibble: u8) -> Result<u8, GuardError> {
    match nibble {
        1..=13 => Ok(nibble),
        _ => Err(GuardError::Malformed("an unknown Thrift element type")),
    }
}

fn is_bool(wire: u8) -> bool {
    wire == BOOL_TRUE || wire == BOOL_FALSE
}

/// Whether a field written with `wire` is read by the crate as `ty` consuming the same bytes.
fn wire_matches(ty: Ty, wire: u8) -> bool {
    match ty {
        Ty::Bool => is_bool(wire),
        Ty::I8 => wire == BYTE,
        Ty::I16 => wire == I16,
        Ty::I32 => wire == I32,
        Ty::I64 => wire == I64,
        Ty::Double => wire == DOUBLE,
        Ty::Binary => wire == BINARY,
        Ty::List(_) => wire == LIST,
        Ty::Struct(_) => wire == STRUCT,
    }
}

mod schema;
#[cfg(test)]
mod tests;

pub use schema::{FILE_META_DATA, OFFSET_INDEX, PAGE_HEADER};

//! Which `datasets` packaged builder reads which files (`datasets/packaged_modules/__init__.py`
//! of `datasets` 5.2.0: `_EXTENSION_TO_MODULE`, the metadata file names and extensions) and how
//! the builder is picked from a list of data files (`infer_module_for_data_files_list`: the most
//! common extension wins; ties go to parquet, lance, vortex, arrow, jsonl, json, csv, then the
//! alphabetically *last* extension; metadata files such as `metadata.csv` count last).

use std::collections::HashMap;
use std::sync::LazyLock;

/// `_EXTENSION_TO_MODULE`, grouped by module: `module: .ext …`; an indented line continues the
/// module above. Extensions are matched with their exact case.
const EXTENSIONS_BY_MODULE: &str = "\
csv: .csv .tsv\n\
json: .json .jsonl .ndjson\n\
parquet: .parquet .geoparquet .gpq\n\
arrow: .arrow\n\
text: .txt\n\
conll: .conll .conllu\n\
webdataset: .tar\n\
xml: .xml\n\
hdf5: .hdf5 .h5\n\
eval: .eval\n\
harbor: .toml .md\n\
lance: .lance\n\
tsfile: .tsfile\n\
vortex: .vortex\n\
fasta: .fa .fasta .fna .ffn .faa .frn .afa\n\
genbank: .gb .gbk .genbank\n\
fastq: .fq .fastq\n\
pdb: .pdb .ent .PDB .ENT\n\
mmcif: .cif .mmcif\n\
imagefolder: .blp .bmp .dib .bufr .cur .pcx .dcx .dds .ps .eps .fit .fits .fli .flc .ftc\n\
    .ftu .gbr .gif .grib .png .apng .jp2 .j2k .jpc .jpf .jpx .j2c .icns .ico .im .iim\n\
    .tif .tiff .jfif .jpe .jpg .jpeg .msp .pcd .pxr .pbm .pgm .ppm .pnm .psd .bw .rgb\n\
    .rgba .sgi .ras .tga .icb .vda .vst .webp .wmf .emf .xbm .xpm .BLP .BMP .DIB .BUFR\n\
    .CUR .PCX .DCX .DDS .PS .EPS .FIT .FITS .FLI .FLC .FTC .FTU .GBR .GIF .GRIB .PNG\n\
    .APNG .JP2 .J2K .JPC .JPF .JPX .J2C .ICNS .ICO .IM .IIM .TIF .TIFF .JFIF .JPE .JPG\n\
    .JPEG .MSP .PCD .PXR .PBM .PGM .PPM .PNM .PSD .BW .RGB .RGBA .SGI .RAS .TGA .ICB\n\
    .VDA .VST .WEBP .WMF .EMF .XBM .XPM\n\
audiofolder: .mpg .MPG .aiff .au .avr .caf .flac .htk .svx .mat4 .mat5 .mpc2k .ogg .paf\n\
    .pvf .raw .rf64 .sd2 .sds .ircam .voc .w64 .wav .nist .wavex .wve .xi .mp3 .opus\n\
    .3gp .3g2 .asf .flv .m4v .webm .f4v .wmv .wma .ogm .mxf .nut .AIFF .AU .AVR .CAF\n\
    .FLAC .HTK .SVX .MAT4 .MAT5 .MPC2K .OGG .PAF .PVF .RAW .RF64 .SD2 .SDS .IRCAM .VOC\n\
    .W64 .WAV .NIST .WAVEX .WVE .XI .MP3 .OPUS .3GP .3G2 .ASF .FLV .M4V .WEBM .F4V .WMV\n\
    .WMA .OGM .MXF .NUT\n\
videofolder: .mpeg .MPEG .avi .mp4 .mov .mkv .AVI .MP4 .MOV .MKV\n\
meshfolder: .glb .gltf .ply .stl .GLB .GLTF .PLY .STL\n\
pdffolder: .pdf .PDF\n\
niftifolder: .nii .NII\n\
";

/// Extension → module, parsed once from [`EXTENSIONS_BY_MODULE`].
static EXTENSION_TO_MODULE: LazyLock<HashMap<&'static str, &'static str>> = LazyLock::new(|| {
    let mut out = HashMap::new();
    let mut module = "";
    for line in EXTENSIONS_BY_MODULE.lines() {
        let exts = match line.split_once(':') {
            Some((m, rest)) if !line.starts_with(' ') => {
                module = m;
                rest
            }
            _ => line,
        };
        for ext in exts.split_whitespace() {
            out.insert(ext, module);
        }
    }
    out
});

/// Metadata files some builders read next to the data (`_MODULE_TO_METADATA_FILE_NAMES`).
const FOLDER_METADATA: &[&str] = &["metadata.csv", "metadata.jsonl", "metadata.parquet"];

/// `_ALL_METADATA_FILENAMES`: counted last when picking the builder.
const ALL_METADATA_FILENAMES: &[&str] = &[
    "instruction.md",
    "latest_version_hint.json",
    "metadata.csv",
    "metadata.jsonl",
    "metadata.parquet",
    "task.toml",
];

/// `_ALL_METADATA_EXTENSIONS` (lance's).
const ALL_METADATA_EXTENSIONS: &[&str] = &[".idx", ".manifest", ".txn"];

/// The module for an extension (with its leading dot, exact case), if any.
pub(super) fn module_for_extension(ext: &str) -> Option<&'static str> {
    EXTENSION_TO_MODULE.get(ext).copied()
}

/// The builder kwargs an extension implies (`.tsv` → `sep`, `.conllu` → `comment_prefix`).
pub(super) fn default_kwargs(ext: &str) -> serde_json::Map<String, serde_json::Value> {
    let mut out = serde_json::Map::new();
    match ext {
        ".tsv" => {
            out.insert("sep".into(), "\t".into());
        }
        ".conllu" => {
            out.insert("comment_prefix".into(), "#".into());
        }
        _ => {}
    }
    out
}

/// `_ALL_ALLOWED_EXTENSIONS` membership: every data extension, `.zip`, the metadata extensions.
pub(super) fn is_allowed_extension(ext: &str) -> bool {
    ext == ".zip" || module_for_extension(ext).is_some() || ALL_METADATA_EXTENSIONS.contains(&ext)
}

/// The text after the last `/`.
pub(super) fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// `resolve_pattern`'s extension filter: some dot-suffix of the file name is allowed.
pub(super) fn has_allowed_extension(path: &str) -> bool {
    let name = basename(path);
    name.split('.').skip(1).any(|s| is_allowed_extension(&format!(".{s}")))
}

/// What `infer_module_for_data_files_list` picks: `Some((module, ext))` for a known extension,
/// `Some(("zip", ".zip"))` when an archive would have to be opened, `None` when nothing fits.
pub(super) fn infer_module(files: &[&str]) -> Option<(&'static str, String)> {
    let mut counts: HashMap<(String, bool), usize> = HashMap::new();
    for path in files {
        let name = basename(path);
        let is_metadata = ALL_METADATA_FILENAMES.contains(&name);
        for suffix in name.split('.').skip(1) {
            *counts.entry((format!(".{}", suffix.to_lowercase()), is_metadata)).or_default() += 1;
        }
    }
    let mut ranked: Vec<((String, bool), usize)> = counts.into_iter().collect();
    let rank = |((ext, meta), count): &((String, bool), usize)| {
        let e = ext.as_str();
        (
            !*meta,
            *count,
            e == ".parquet",
            e == ".lance",
            e == ".vortex",
            e == ".arrow",
            e == ".jsonl",
            e == ".json",
            e == ".csv",
            ext.clone(),
        )
    };
    ranked.sort_by_key(|entry| std::cmp::Reverse(rank(entry)));
    for ((ext, _), _) in ranked {
        if let Some(module) = module_for_extension(&ext) {
            return Some((module, ext));
        }
        if ext == ".zip" {
            return Some(("zip", ext));
        }
    }
    None
}

/// `DataFilesList.filter` with the module's extensions and metadata names, as applied to the
/// inferred (non-YAML) data files.
pub(super) fn keep_for_module(module: &str, path: &str) -> bool {
    let mut exts: Vec<&str> =
        EXTENSION_TO_MODULE.iter().filter(|(_, m)| **m == module).map(|(e, _)| *e).collect();
    exts.push(".zip");
    if module == "lance" {
        exts.extend_from_slice(ALL_METADATA_EXTENSIONS);
    }
    if exts.iter().any(|e| has_extension_then_suffix(path, e)) {
        return true;
    }
    let names: &[&str] = match module {
        "harbor" => &["task.toml", "instruction.md"],
        "lance" => &["latest_version_hint.json"],
        "pdb" | "mmcif" | "imagefolder" | "audiofolder" | "videofolder" | "meshfolder" | "pdffolder"
        | "niftifolder" => FOLDER_METADATA,
        _ => &[],
    };
    names.iter().any(|n| path.ends_with(n))
}

/// The regex `.*(ext)(\..+)?$`: `ext` occurs and is followed by the end or by `.` and more.
fn has_extension_then_suffix(path: &str, ext: &str) -> bool {
    path.match_indices(ext).any(|(i, _)| {
        let rest = &path[i + ext.len()..];
        rest.is_empty() || (rest.starts_with('.') && rest.len() > 1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_and_majorities() {
        assert_eq!(infer_module(&["a.csv", "b.parquet"]).map(|m| m.0), Some("parquet"));
        assert_eq!(infer_module(&["a.txt", "b.tsv"]).map(|m| m.0), Some("text"));
        assert_eq!(infer_module(&["a.csv", "b.csv", "c.json"]).map(|m| m.0), Some("csv"));
        assert_eq!(infer_module(&["x/metadata.csv", "a.png"]).map(|m| m.0), Some("imagefolder"));
        assert_eq!(infer_module(&["a.py"]), None);
    }

    #[test]
    fn filter_regex() {
        assert!(keep_for_module("csv", "a.csv.gz"));
        assert!(!keep_for_module("csv", "a.csvx"));
        assert!(!keep_for_module("csv", "notes.txt"));
        assert!(keep_for_module("imagefolder", "train/metadata.csv"));
    }
}

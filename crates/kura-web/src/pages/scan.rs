//! The pickle scan of one file, as its blob page shows it: the imports the opcode walk found,
//! each with its verdict (dangerous ones highlighted), or a note that the file is not scanned
//! yet. Import names come from the file, that is from whoever uploaded it: the template escapes
//! them like any other text.

use kura_core::views::SecurityFileStatusView;
use kura_core::{Entry, RepoRecord};

use crate::request::Req;

/// Imports listed (a hostile pickle may name thousands; the verdict is in the first ones).
pub(crate) const MAX_IMPORTS_SHOWN: usize = 200;
/// Extensions of files that may hold pickles (the scanner's list), for the "not scanned yet"
/// note; the scan itself decides what it reads.
const PICKLE_EXTENSIONS: [&str; 9] = ["pkl", "pickle", "joblib", "bin", "pt", "pth", "ckpt", "npy", "dat"];

/// One import and its verdict (`innocuous`, `suspicious` or `dangerous`).
pub(crate) struct Import {
    pub(crate) module: String,
    pub(crate) name: String,
    pub(crate) safety: &'static str,
}

/// The scan section of a blob page.
pub(crate) enum Scan {
    /// The revision is not indexed yet and the file may hold a pickle.
    Pending,
    /// The file holds pickles: its level and what they import.
    Pickle { level: &'static str, imports: Vec<Import>, more: usize },
}

impl Scan {
    /// The section for a file's status; `None` when there is nothing to say (no pickle).
    pub(crate) fn of(status: &SecurityFileStatusView, path: &str) -> Option<Scan> {
        if let Some(pickle) = &status.pickle_import_scan {
            let imports = pickle
                .imports
                .iter()
                .take(MAX_IMPORTS_SHOWN)
                .map(|i| Import { module: i.module.clone(), name: i.name.clone(), safety: i.safety })
                .collect::<Vec<_>>();
            let more = pickle.imports.len().saturating_sub(imports.len());
            return Some(Scan::Pickle { level: status.status, imports, more });
        }
        (status.status == "unscanned" && may_hold_pickle(path)).then_some(Scan::Pending)
    }

    /// The scan of one file of a revision; a courtesy like the tree's badges (a failing store
    /// shows no section).
    pub(crate) async fn look_up(
        req: &Req,
        record: &RepoRecord,
        commit: &kura_model::ObjectId,
        entry: &Entry,
    ) -> Option<Scan> {
        let statuses = req.hub().index().file_statuses(record, commit, &[entry]).await.ok()?;
        let status = statuses.into_iter().next().flatten()?;
        Scan::of(&status, entry.path())
    }
}

fn may_hold_pickle(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.rsplit_once('.')
        .is_some_and(|(_, ext)| PICKLE_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kura_core::views::{PickleImportScanView, PickleImportView};

    fn status(imports: usize) -> SecurityFileStatusView {
        let mut view = SecurityFileStatusView::unscanned();
        view.status = "unsafe";
        view.pickle_import_scan = Some(PickleImportScanView {
            highest_safety_level: Some("dangerous"),
            imports: (0..imports)
                .map(|n| PickleImportView { module: "os".into(), name: format!("f{n}"), safety: "dangerous" })
                .collect(),
            status: "unsafe",
        });
        view
    }

    #[test]
    fn imports_are_capped_and_pending_only_for_pickle_files() {
        let Some(Scan::Pickle { level, imports, more }) = Scan::of(&status(250), "a.pkl") else {
            panic!("a pickle scan is shown");
        };
        assert_eq!((level, imports.len(), more), ("unsafe", MAX_IMPORTS_SHOWN, 50));
        assert_eq!(imports[0].name, "f0");
        let unscanned = SecurityFileStatusView::unscanned();
        assert!(matches!(Scan::of(&unscanned, "w/model.BIN"), Some(Scan::Pending)));
        assert!(Scan::of(&unscanned, "README.md").is_none());
        assert!(Scan::of(&SecurityFileStatusView::of(None), "model.pt").is_none(), "safe, no pickle");
    }
}

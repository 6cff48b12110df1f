//! `{base}/upload/{rev}`: files uploaded through the browser become one new commit. The
//! multipart body is streamed field by field: the `csrf` field must come first and is checked
//! before any file is read; each file is routed like a preupload (`.gitattributes`, size,
//! binary sample, the commit's inline budget), so a small text file travels inline while any
//! other is handed to the core as a stream, which hashes it itself and stores it as a large
//! object. Only a commit makes the files visible: a refused or broken upload commits nothing.

use askama::Template;
use axum::http::{StatusCode, header};
use bytes::BytesMut;
use futures_util::{StreamExt, TryStreamExt};
use kura_core::{
    CommitRequest, FileContent, LFS_THRESHOLD, Operation, RepoRecord, UploadCandidate, UploadMode,
};
use kura_model::RepoPath;

use super::layout::Layout;
use super::repo_common::{RepoHeader, Tab};
use super::{format, html, see_other, settings};
use crate::budget::Held;
use crate::error::{WebError, WebResult};
use crate::request::Req;
use crate::route::RepoName;

/// Most files one upload may carry.
const MAX_FILES: usize = 100;
/// Bytes of the sample preupload looks at (as the Hub's clients send).
const SAMPLE_BYTES: usize = 512;
/// Longest text field (folder, summary, description).
const MAX_TEXT_BYTES: usize = 64 * 1024;

#[derive(Template)]
#[template(path = "upload.html")]
struct UploadPage {
    layout: Layout,
    header: RepoHeader,
    revision: String,
    max_files: usize,
}

pub(crate) async fn upload_page(req: &Req, name: &RepoName, revision: &str) -> WebResult {
    let record = settings::writable(req, name).await?;
    req.hub().repos().resolve_revision(&record, revision).await?;
    let page = UploadPage {
        layout: Layout::new(req, &format!("Upload · {}", record.repo_id)),
        header: RepoHeader::new(req, &record, Tab::Files, revision).await,
        revision: revision.to_owned(),
        max_files: MAX_FILES,
    };
    Ok(html(StatusCode::OK, &page))
}

/// What the form has said so far.
struct Upload {
    folder: Option<RepoPath>,
    summary: String,
    description: String,
    operations: Vec<Operation>,
    inline_bytes: u64,
    /// The memory held (inline files, the file being read), reserved in the server's body
    /// budget until the request ends.
    held: Held,
}

pub(crate) async fn upload(req: &mut Req, name: &RepoName, revision: &str) -> WebResult {
    let record = settings::writable(req, name).await?;
    let limit = req.hub().config().limits.web_upload_max_bytes;
    let declared = req.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(too_large(limit));
    }
    let mut multipart = open_multipart(req, limit)?;
    check_csrf_first(req, &mut multipart).await?;
    let mut upload = Upload {
        folder: None,
        summary: String::new(),
        description: String::new(),
        operations: Vec::new(),
        inline_bytes: 0,
        held: Held::new(&req.state.body_budget),
    };
    while let Some(field) = multipart.next_field().await.map_err(|e| multipart_error(e, limit))? {
        upload.take_field(req, &record, revision, field, limit).await?;
    }
    if upload.operations.is_empty() {
        return Err(WebError::bad_request("Choose at least one file to upload"));
    }
    let location = upload_location(&record, revision, upload.folder.as_ref());
    req.hub().repos().create_commit(&req.identity, &record, revision, upload.into_commit()).await?;
    see_other(&location)
}

impl Upload {
    /// Takes one field of the form after the CSRF token; the folder must come before the
    /// files (browsers send fields in the page's order).
    async fn take_field(
        &mut self,
        req: &Req,
        record: &RepoRecord,
        revision: &str,
        field: multer::Field<'static>,
        limit: u64,
    ) -> WebResult<()> {
        match field.name().unwrap_or("") {
            "folder" if self.operations.is_empty() => self.folder = folder(&read_text(field, limit).await?)?,
            "summary" => self.summary = read_text(field, limit).await?.trim().to_owned(),
            "description" => self.description = read_text(field, limit).await?,
            "files" => {
                // A browser sends an empty, nameless part when no file was chosen.
                let Some(file_name) = field.file_name().map(str::to_owned).filter(|n| !n.is_empty()) else {
                    return Ok(());
                };
                if self.operations.len() >= MAX_FILES {
                    return Err(WebError::too_large(&format!("At most {MAX_FILES} files per upload")));
                }
                let path = file_path(self.folder.as_ref(), &file_name)?;
                let operation = receive_file(req, record, revision, self, path, field, limit).await?;
                self.operations.push(operation);
            }
            "folder" => return Err(WebError::bad_request("The folder field must come before the files")),
            other => return Err(WebError::bad_request(&format!("Unexpected form field '{other}'"))),
        }
        Ok(())
    }

    /// The commit: the title defaults to "Upload N files", as on the Hub.
    fn into_commit(self) -> CommitRequest {
        let count = self.operations.len();
        let summary = if self.summary.is_empty() {
            format!("Upload {count} file{}", if count == 1 { "" } else { "s" })
        } else {
            self.summary
        };
        CommitRequest { summary, description: self.description, parent: None, operations: self.operations }
    }
}

/// `{base}/tree/{rev}/{folder}`: where the uploaded files are.
fn upload_location(record: &RepoRecord, revision: &str, folder: Option<&RepoPath>) -> String {
    let base = super::repo_common::base_url(record.repo_type, &record.repo_id);
    let tree = format!("{base}/tree/{}", format::segment(revision));
    match folder {
        Some(folder) => format!("{tree}/{}", format::path(folder.as_str())),
        None => tree,
    }
}

fn too_large(limit: u64) -> WebError {
    WebError::too_large(&format!("The upload is larger than {}; nothing was committed", format::size(limit)))
}

fn multipart_error(error: multer::Error, limit: u64) -> WebError {
    match error {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => {
            too_large(limit)
        }
        other => WebError::bad_request(&format!("The upload was cut or malformed: {other}")),
    }
}

/// The body as a multipart stream, at most `limit` bytes in all.
fn open_multipart(req: &Req, limit: u64) -> WebResult<multer::Multipart<'static>> {
    let content_type = req.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| WebError::bad_request("The upload must be sent as multipart/form-data"))?;
    let constraints = multer::Constraints::new().size_limit(multer::SizeLimit::new().whole_stream(limit));
    let body = req.take_body()?.into_data_stream();
    Ok(multer::Multipart::with_constraints(body, boundary, constraints))
}

/// The first field must be the CSRF token: a forged post is refused before any file is read.
async fn check_csrf_first(req: &Req, multipart: &mut multer::Multipart<'static>) -> WebResult<()> {
    let first = multipart.next_field().await.map_err(|e| multipart_error(e, u64::MAX))?;
    let token = match first {
        Some(field) if field.name() == Some("csrf") => Some(read_text(field, 0).await?),
        _ => None,
    };
    req.hub().accounts().check_csrf(&req.identity, token.as_deref())?;
    Ok(())
}

/// A text field, at most `MAX_TEXT_BYTES`.
async fn read_text(mut field: multer::Field<'static>, limit: u64) -> WebResult<String> {
    let mut text = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(e, limit))? {
        if text.len() + chunk.len() > MAX_TEXT_BYTES {
            return Err(WebError::bad_request("A text field of the form is too long"));
        }
        text.extend_from_slice(&chunk);
    }
    String::from_utf8(text).map_err(|_| WebError::bad_request("A text field of the form is not UTF-8"))
}

fn folder(text: &str) -> WebResult<Option<RepoPath>> {
    let text = text.trim().trim_matches('/');
    if text.is_empty() {
        return Ok(None);
    }
    RepoPath::parse(text).map(Some).map_err(|e| invalid_path(&e.to_string()))
}

fn file_path(folder: Option<&RepoPath>, file_name: &str) -> WebResult<RepoPath> {
    let full = match folder {
        Some(folder) => format!("{folder}/{file_name}"),
        None => file_name.to_owned(),
    };
    RepoPath::parse(&full).map_err(|e| invalid_path(&e.to_string()))
}

fn invalid_path(message: &str) -> WebError {
    WebError::new(StatusCode::UNPROCESSABLE_ENTITY, &format!("Invalid file path: {message}"))
}

/// Reads one file part. Up to what may still travel inline (and below the LFS threshold) is
/// held in memory; a file that ends within it is routed like a preupload, a longer one is a
/// large object whatever its path, streamed on from there.
async fn receive_file(
    req: &Req,
    record: &RepoRecord,
    revision: &str,
    upload: &mut Upload,
    path: RepoPath,
    mut field: multer::Field<'static>,
    limit: u64,
) -> WebResult<Operation> {
    let inline_left = req.hub().config().limits.commit_max_inline_bytes.saturating_sub(upload.inline_bytes);
    let held_max = usize::try_from(inline_left.min(LFS_THRESHOLD)).unwrap_or(usize::MAX);
    let mut head = BytesMut::new();
    let mut overflow = None;
    while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(e, limit))? {
        if head.len() + chunk.len() > held_max {
            overflow = Some(chunk);
            break;
        }
        upload.held.cover(upload.inline_bytes + (head.len() + chunk.len()) as u64).await?;
        head.extend_from_slice(&chunk);
    }
    let head = head.freeze();
    let Some(overflow) = overflow else {
        let candidate = UploadCandidate {
            path: path.clone(),
            size: head.len() as u64,
            sample: head[..head.len().min(SAMPLE_BYTES)].to_vec(),
        };
        let plan = req.hub().repos().preupload(record, revision, &[candidate]).await?;
        if plan.files.first().is_some_and(|p| p.mode == UploadMode::Regular) {
            upload.inline_bytes += head.len() as u64;
            return Ok(Operation::Put { path, content: FileContent::Regular(head) });
        }
        let stream = futures_util::stream::iter([Ok(head)]);
        return store(req, record, path, Box::pin(stream), limit).await;
    };
    // The core sees a broken stream as an interrupted upload; the cap is told apart here.
    let capped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = capped.clone();
    let rest = field.map_err(move |error| {
        if matches!(error, multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. })
        {
            seen.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        std::io::Error::other(error)
    });
    let stream = futures_util::stream::iter([Ok(head), Ok(overflow)]).chain(rest);
    let stored = store(req, record, path, Box::pin(stream), limit).await;
    if stored.is_err() && capped.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(too_large(limit));
    }
    stored
}

async fn store(
    req: &Req,
    record: &RepoRecord,
    path: RepoPath,
    body: kura_core::ByteStream,
    limit: u64,
) -> WebResult<Operation> {
    let stored = req.hub().files().store_upload(&req.identity, record, body, limit).await?;
    Ok(Operation::Put { path, content: FileContent::Lfs { oid: stored.oid, size: Some(stored.size) } })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_the_folder_and_refuse_escapes() {
        let data = folder(" /data/raw/ ").unwrap();
        assert_eq!(data.as_ref().map(RepoPath::as_str), Some("data/raw"));
        assert_eq!(folder("  ").unwrap(), None);
        assert_eq!(file_path(data.as_ref(), "a.txt").unwrap().as_str(), "data/raw/a.txt");
        for bad in ["../a.txt", "a/../../b", ".git/config", "/etc/passwd", ""] {
            assert!(file_path(None, bad).is_err(), "{bad}");
        }
        assert!(folder("../up").is_err());
    }

    #[test]
    fn the_commit_title_defaults_to_the_file_count() {
        let share = kura_core::BodyBudget::new(&kura_core::Limits::default());
        let put = || Operation::Put {
            path: RepoPath::parse("a").unwrap(),
            content: FileContent::Regular(bytes::Bytes::new()),
        };
        let upload = |summary: &str, operations| Upload {
            folder: None,
            summary: summary.to_owned(),
            description: String::new(),
            operations,
            inline_bytes: 0,
            held: Held::new(&share),
        };
        assert_eq!(upload("", vec![put(), put()]).into_commit().summary, "Upload 2 files");
        assert_eq!(upload("", vec![put()]).into_commit().summary, "Upload 1 file");
        assert_eq!(upload("Add data", vec![put()]).into_commit().summary, "Add data");
    }
}

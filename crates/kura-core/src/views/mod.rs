//! Typed views: the JSON bodies the Hub API answers with, one module per area, built from core
//! records. They live below the edges so the HTTP API and the web UI to come shape the same
//! objects the same way.
//!
//! Conventions: field names are exactly the Hub's (renamed per field where Rust names differ);
//! a field the Hub omits is an `Option` skipped when `None`, a field it sends as `null` is an
//! `Option` always written. Fields are declared in the byte order of their JSON names, the order
//! `serde_json` gave the `json!` bodies these replace, so answers stay byte for byte the same
//! (the snapshot tests check the order).

mod access;
mod auth;
mod collections;
mod commits;
mod discussions;
mod errors;
mod lfs;
mod likes;
mod maintenance;
mod orgs;
mod refs;
mod repos;
mod security;
mod spaces;
mod tokens;
mod tree;
mod viewer;
mod xet;

#[cfg(test)]
mod tests;

use serde::Serialize;

pub use access::{AccessRequestView, AskAccessView, AuditEntryView, RequesterView};
pub use auth::{AuthView, LoginView, OrgMembershipView, WhoAmIView};
pub use collections::{
    CollectionExistsView, CollectionItemView, CollectionOwnerView, CollectionUpdatedView, CollectionView,
    NoteView,
};
pub use commits::{
    CommitAuthorView, CommitResultView, CommitView, PreuploadFileView, PreuploadView, upload_mode_name,
};
pub use discussions::{
    DiscussionCreatedView, DiscussionDetailsView, DiscussionListView, DiscussionRepoView, DiscussionView,
    EventView, NamedView, event_answer,
};
pub use errors::{ErrorView, LfsMessageView};
pub use lfs::{
    ActionView, ActionsView, BatchObjectView, BatchRequest, BatchRequestObject, BatchResponseView,
    ObjectErrorView,
};
pub use likes::{LikedRepoNameView, LikerView, UserLikeView};
pub use maintenance::{DuplicateFailureView, DuplicateResultView, LfsFileView, RepoStorageView};
pub use orgs::{MemberRoleView, MemberView};
pub use refs::{GitRefView, RefsView};
pub use repos::{
    GatedView, RepoCreatedView, RepoUrlView, RepoView, SiblingLfsView, SiblingView, ValidateYamlView,
    YamlMessageView,
};
pub use security::{
    FileIssueView, PickleImportScanView, PickleImportView, SecurityFileStatusView, SecurityRepoStatusView,
};
pub use spaces::{SpaceVariableView, space_variables_view};
pub use tokens::{AccessTokenView, EntityView, FineGrainedView, ScopedView, TokenView, UpstreamTokenView};
pub use tree::{EntryKind, LastCommitView, TreeEntryView, TreeLfsView};
pub use viewer::{
    FailedView, FeatureItemView, FirstRowsView, IsValidView, ParquetFileView, ParquetView, PendingView,
    RowItem, RowsView, SplitItemView, SplitsView, ViewerErrorView,
};
pub use xet::{
    FetchInfoView, RangeView, ReconstructionV2View, ReconstructionView, ShardUploadView, TermView,
    XetTokenView, XorbFetchView, XorbRangeView, XorbUploadView,
};

/// `{}`: the answer of calls that succeed with nothing to say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EmptyView {}

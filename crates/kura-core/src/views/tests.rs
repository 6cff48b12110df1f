//! Snapshot tests of the views the official clients read: each view, built from fixed
//! records, against a committed JSON file in `snapshots/` (`KURA_UPDATE_SNAPSHOTS=1` rewrites
//! the files instead). Each check also pins the field order: the compact JSON must equal what
//! `serde_json` writes for the same value with sorted keys, as the `json!` bodies were written.

use std::collections::BTreeMap;
use std::path::PathBuf;

use kura_git::{Commit, EntryMode, LfsPointer, Signature};
use kura_model::{ObjectId, RefName, RepoId, RepoType, Role, ScopeTarget, Sha256, TokenScope};
use kura_storage::{AuditRecord, Gating, NewAuditEntry, UserRecord};
use serde::Serialize;
use serde_json::json;

use super::*;
use crate::{
    AccessRequestRecord, AccessStatus, BlobInfo, CardInfo, DownloadPlan, DuplicateFailure, Entry, Fetch,
    LastCommit, LfsFile, MerkleHash, OrgRole, PlannedUpload, Preupload, Principal, Reconstruction, RefRecord,
    RepoRecord, Session, Term, TokenRecord, UploadMode, UploadPlan,
};

mod collections;

/// Compares `view` with `snapshots/{name}.json`.
fn check(name: &str, view: &impl Serialize) {
    let compact = serde_json::to_string(view).expect("views serialize");
    let value = serde_json::to_value(view).expect("views serialize");
    assert_eq!(
        compact,
        value.to_string(),
        "{name}: fields must be declared in the byte order of their JSON names"
    );
    let pretty = serde_json::to_string_pretty(view).expect("views serialize") + "\n";
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/views/snapshots").join(format!("{name}.json"));
    if std::env::var_os("KURA_UPDATE_SNAPSHOTS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &pretty).expect("snapshot written");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (KURA_UPDATE_SNAPSHOTS=1 writes it)", path.display()));
    assert_eq!(
        pretty,
        expected,
        "{name} differs from {} (KURA_UPDATE_SNAPSHOTS=1 rewrites it)",
        path.display()
    );
}

fn oid(byte: u8) -> ObjectId {
    ObjectId::from_hex(&format!("{byte:02x}").repeat(20)).expect("valid id")
}

fn sha(byte: u8) -> Sha256 {
    Sha256::from_hex(&format!("{byte:02x}").repeat(32)).expect("valid sha256")
}

/// 2024-01-02T03:04:05.000Z
const TIME: i64 = 1_704_164_645_000;

fn repo(repo_type: RepoType, gating: Gating) -> RepoRecord {
    RepoRecord {
        id: 42,
        repo_type,
        repo_id: RepoId::parse("alice/thing").expect("valid id"),
        private: false,
        gating,
        created_at: TIME,
        last_modified: TIME + 1000,
        tags: vec!["stored-tag".into()],
        created_by: Some(1),
        library_name: None,
        pipeline_tag: None,
        likes: 0,
        downloads: 0,
        downloads_all_time: 0,
        trending: 0,
        state: 0,
    }
}

fn card(sdk: bool) -> CardInfo {
    let mut data = json!({"license": "mit", "tags": ["text"], "pipeline_tag": "fill-mask", "library_name": "transformers"});
    if sdk {
        data["sdk"] = json!("gradio");
    }
    CardInfo {
        card_data: Some(data),
        tags: vec!["text".into(), "license:mit".into()],
        pipeline_tag: Some("fill-mask".into()),
        library_name: Some("transformers".into()),
    }
}

fn regular_file() -> Entry {
    Entry::File {
        path: "config.json".into(),
        oid: oid(1),
        mode: EntryMode::File,
        info: BlobInfo { size: 27, lfs: None },
    }
}

fn lfs_file() -> Entry {
    let lfs = LfsPointer { oid: sha(0xab), size: 1_048_576 };
    Entry::File {
        path: "weights/model.bin".into(),
        oid: oid(2),
        mode: EntryMode::File,
        info: BlobInfo { size: 134, lfs: Some(lfs) },
    }
}

fn folder() -> Entry {
    Entry::Dir { path: "weights".into(), oid: oid(3) }
}

fn info(repo_type: RepoType, sdk: bool) -> RepoView {
    let record = repo(repo_type, Gating::Off);
    let mut view = RepoView::info(&record, &oid(9), TIME / 1000 + 60, &card(sdk));
    let entries = [regular_file(), folder(), lfs_file()];
    view.siblings = Some(entries.iter().filter_map(|e| SiblingView::of(e, false)).collect());
    view
}

#[test]
fn repo_info_of_each_type() {
    check("repo_info_model", &info(RepoType::Model, false));
    check("repo_info_dataset", &info(RepoType::Dataset, false));
    check("repo_info_space", &info(RepoType::Space, true));
}

#[test]
fn repo_info_expanded() {
    check(
        "repo_info_expand_sha_gated",
        &info(RepoType::Model, false).expanded(&["sha", "gated", "unknownField"]),
    );
    let record = repo(RepoType::Model, Gating::Manual);
    let mut view = RepoView::info(&record, &oid(9), TIME / 1000, &CardInfo::default());
    let entries = [regular_file(), lfs_file()];
    view.siblings = Some(entries.iter().filter_map(|e| SiblingView::of(e, true)).collect());
    let expand = ["siblings", "cardData", "xetEnabled", "usedStorage", "modelId", "lastModified"];
    check("repo_info_expand_siblings_blobs", &view.expanded(&expand));
}

#[test]
fn repo_listing() {
    let plain = RepoView::new(&repo(RepoType::Dataset, Gating::Auto));
    let mut full = RepoView::new(&repo(RepoType::Model, Gating::Off));
    full.sha = Some(oid(9).to_hex());
    full.siblings = Some(vec![SiblingView::of(&regular_file(), false).expect("a file")]);
    check("repo_list", &vec![plain, full]);
}

#[test]
fn tree_entries() {
    let mut xet = TreeEntryView::new(&lfs_file());
    xet.xet_hash = Some("7c".repeat(32));
    check(
        "tree_entries",
        &vec![
            TreeEntryView::new(&regular_file()),
            TreeEntryView::new(&folder()),
            TreeEntryView::new(&lfs_file()),
            xet,
        ],
    );
}

#[test]
fn paths_info_expanded() {
    let last = LastCommit { id: oid(9), title: "Add weights".into(), time: TIME / 1000 };
    let mut file = TreeEntryView::new(&regular_file());
    file.last_commit = Some(LastCommitView::from(&last));
    let mut dir = TreeEntryView::new(&folder());
    dir.last_commit = Some(LastCommitView::from(&last));
    check("paths_info_expanded", &vec![file, dir]);
}

#[test]
fn refs() {
    let r = |name: &str, byte| RefRecord {
        name: RefName::from_full(name).expect("valid ref"),
        target: oid(byte),
    };
    let refs = [
        r("refs/heads/main", 1),
        r("refs/tags/v1.0", 2),
        r("refs/convert/parquet", 3),
        r("refs/pr/1", 4),
        r("refs/notes/x", 5),
    ];
    check("refs", &RefsView::new(&refs, false));
    check("refs_with_prs", &RefsView::new(&refs, true));
}

fn commit(message: &str) -> Commit {
    let signature = |name: &str| Signature {
        name: name.into(),
        email: format!("{name}@example.com"),
        time: TIME / 1000,
        offset_minutes: 60,
    };
    Commit {
        tree: oid(7),
        parents: vec![oid(6)],
        author: signature("alice"),
        committer: signature("kura"),
        extra_headers: Vec::new(),
        message: message.into(),
    }
}

#[test]
fn commits() {
    let list = vec![
        CommitView::new(&oid(8), &commit("Add weights\n\nTrained for 3 epochs.\n")),
        CommitView::new(&oid(6), &commit("initial commit")),
    ];
    check("commits", &list);
    check("commit_result", &CommitResultView::new("http://hub.test/alice/thing", &oid(8)));
    let plan = Preupload {
        commit: oid(8),
        files: vec![
            PlannedUpload { mode: UploadMode::Regular, should_ignore: false, existing: None },
            PlannedUpload { mode: UploadMode::Lfs, should_ignore: false, existing: Some(sha(0xab).to_hex()) },
            PlannedUpload { mode: UploadMode::Regular, should_ignore: true, existing: None },
        ],
    };
    check("preupload", &PreuploadView::new(["README.md", "model.bin", "logs/run.log"], &plan));
}

fn token(role: Role, scopes: Vec<TokenScope>) -> TokenRecord {
    TokenRecord {
        id: 7,
        user_id: 1,
        name: "laptop".into(),
        role,
        created_at: TIME,
        expires_at: None,
        scopes,
        last_used_at: None,
        revoked_at: None,
    }
}

fn scopes() -> Vec<TokenScope> {
    let repo = ScopeTarget::Repo(RepoType::Dataset, RepoId::parse("acme/data").expect("valid id"));
    vec![
        TokenScope::new(ScopeTarget::Namespace("alice".into()), &["repo.content.read"]).expect("valid scope"),
        TokenScope::new(ScopeTarget::Namespace("acme".into()), &["repo.write", "repo.content.read"])
            .expect("valid scope"),
        TokenScope::new(repo, &["repo.write"]).expect("valid scope"),
        TokenScope::new(ScopeTarget::Global, &["repo.content.read"]).expect("valid scope"),
    ]
}

fn principal(role: Role, scopes: Vec<TokenScope>) -> Principal {
    let user = UserRecord { id: 1, name: "alice".into(), is_admin: false, created_at: TIME };
    Principal { user, token: token(role, scopes), session: None }
}

#[test]
fn whoami() {
    let orgs = [("acme".to_owned(), OrgRole::Admin), ("beta".to_owned(), OrgRole::Contributor)];
    let mut write = principal(Role::Write, Vec::new());
    write.token.expires_at = Some(TIME + 86_400_000);
    check("whoami_token", &WhoAmIView::new(&write, &orgs, None));
    check("whoami_fine_grained", &WhoAmIView::new(&principal(Role::FineGrained, scopes()), &[], None));
    let mut session = principal(Role::Write, Vec::new());
    session.session = Some(Box::new(Session { id_hash: sha(1), expires_at: TIME }));
    check("whoami_session", &WhoAmIView::new(&session, &orgs, Some("csrf-token".into())));
    check("login", &LoginView { csrf_token: "csrf-token".into(), name: "alice".into() });
}

#[test]
fn tokens() {
    let mut created = TokenView::new("alice", &token(Role::Read, Vec::new()));
    created.token = Some("hf_secret".into());
    check("token_create", &created);
    let mut used = token(Role::FineGrained, scopes());
    used.last_used_at = Some(TIME + 5000);
    used.expires_at = Some(TIME + 86_400_000);
    check(
        "token_list",
        &vec![TokenView::new("alice", &token(Role::Write, Vec::new())), TokenView::new("alice", &used)],
    );
}

#[test]
fn org_members() {
    check(
        "org_members",
        &vec![MemberView::new("alice", OrgRole::Admin), MemberView::new("bob", OrgRole::Read)],
    );
    check("org_member_role", &MemberRoleView::new("bob", OrgRole::Write));
}

#[test]
fn access_requests() {
    let mut record = AccessRequestRecord {
        id: 5,
        repo_id: 42,
        user_id: 2,
        user_name: "bob".into(),
        status: AccessStatus::Pending,
        fields: Some(r#"{"company":"acme"}"#.into()),
        rejection_reason: None,
        created_at: TIME,
        updated_at: TIME,
    };
    check("ask_access", &AskAccessView::new(&record));
    let pending = AccessRequestView::new(&record);
    record.status = AccessStatus::Rejected;
    record.fields = None;
    record.rejection_reason = Some("not a member".into());
    check("access_requests", &vec![pending, AccessRequestView::new(&record)]);
    let entry = |actor: Option<&str>, details: &str| AuditRecord {
        id: 3,
        entry: NewAuditEntry {
            at: TIME,
            actor: actor.map(str::to_owned),
            action: "token.create".into(),
            target: "user:alice".into(),
            details: details.into(),
        },
    };
    check(
        "audit_log",
        &vec![
            AuditEntryView::new(&entry(Some("alice"), r#"{"role":"write"}"#)),
            AuditEntryView::new(&entry(None, "not json")),
        ],
    );
}

#[test]
fn lfs_batch() {
    let url = |token: &str| format!("http://hub.test/_kura/lfs/{token}");
    let oid = sha(0xab).to_hex();
    let basic = UploadPlan::Basic { put: "put-token".into(), verify: "verify-token".into() };
    let parts = (1..=10).map(|i| format!("part-{i}")).collect();
    let multipart = UploadPlan::Multipart {
        part_size: 64,
        parts,
        complete: "complete-token".into(),
        verify: "verify-token".into(),
    };
    let objects = vec![
        BatchObjectView::upload(&oid, 100, UploadPlan::Present, url),
        BatchObjectView::upload(&oid, 100, basic, url),
        BatchObjectView::upload(&oid, 640, multipart, url),
        BatchObjectView::upload(&oid, 1 << 40, UploadPlan::TooLarge { limit: 1 << 30 }, url),
        BatchObjectView::invalid("not-a-sha", 1),
    ];
    check("lfs_batch_upload", &BatchResponseView::new("basic", objects));
    let header = BTreeMap::from([
        ("X-Xet-Access-Token".to_owned(), "xet-token".to_owned()),
        ("X-Xet-Cas-Url".to_owned(), "http://hub.test/cas".to_owned()),
        ("X-Xet-Token-Expiration".to_owned(), "1704168245".to_owned()),
    ]);
    let refresh = "http://hub.test/api/models/alice/thing/xet-write-token/main";
    let objects = vec![
        BatchObjectView::xet_upload(&oid, 100, UploadPlan::Present, refresh, &header),
        BatchObjectView::xet_upload(
            &oid,
            100,
            UploadPlan::Basic { put: "p".into(), verify: "v".into() },
            refresh,
            &header,
        ),
    ];
    check("lfs_batch_xet", &BatchResponseView::new("xet", objects));
    let objects = vec![
        BatchObjectView::download(&oid, 100, DownloadPlan::Token("get-token".into()), url),
        BatchObjectView::download(
            &oid,
            100,
            DownloadPlan::Direct("https://s3.test/object?sig=1".into()),
            url,
        ),
        BatchObjectView::download(&oid, 100, DownloadPlan::Missing, url),
    ];
    check("lfs_batch_download", &BatchResponseView::new("basic", objects));
    check("lfs_refusal", &LfsMessageView { message: "At most 1000 objects per batch".into() });
}

#[test]
fn xet() {
    check(
        "xet_token",
        &XetTokenView {
            access_token: "xet-token".into(),
            cas_url: "http://hub.test/cas".into(),
            exp: 1_704_168_245,
        },
    );
    let xorb = |byte: u8| MerkleHash::from_hex(&format!("{byte:02x}").repeat(32)).expect("valid hash");
    let plan = Reconstruction {
        offset_into_first_range: 100,
        terms: vec![
            Term { xorb: xorb(1), start: 0, end: 2, unpacked: 131_072 },
            Term { xorb: xorb(2), start: 5, end: 6, unpacked: 4096 },
            Term { xorb: xorb(1), start: 3, end: 4, unpacked: 65_536 },
        ],
        fetches: vec![
            (0, 70_000, Fetch::Token("fetch-token-1".into())),
            (900, 2000, Fetch::Direct("https://s3.test/xorb?sig=2".into())),
            (80_000, 100_000, Fetch::Token("fetch-token-3".into())),
        ],
    };
    let v1 = ReconstructionView::new("http://hub.test/cas", &plan);
    check("reconstruction", &v1);
    check("reconstruction_v2", &ReconstructionV2View::from(v1));
    check("xorb_upload", &XorbUploadView { was_inserted: true });
    check("shard_upload", &ShardUploadView { result: 1 });
}

#[test]
fn small_answers() {
    check("empty", &EmptyView {});
    check("error", &ErrorView { error: "Repository not found".into(), url: None });
    check(
        "error_conflict",
        &ErrorView {
            error: "You already created this model repo".into(),
            url: Some("http://hub.test/alice/thing".into()),
        },
    );
    check(
        "repo_created",
        &RepoCreatedView {
            id: "alice/thing".into(),
            name: "alice/thing".into(),
            url: "http://hub.test/alice/thing".into(),
        },
    );
    let errors = crate::CardCheck { errors: vec!["bad yaml".into()], warnings: vec![] };
    check("validate_yaml_error", &ValidateYamlView::new(errors));
    check("validate_yaml_ok", &ValidateYamlView::new(crate::CardCheck::default()));
    let warning =
        crate::CardCheck { errors: vec![], warnings: vec![crate::card_check::EMPTY_METADATA.into()] };
    check("validate_yaml_warning", &ValidateYamlView::new(warning));
}

#[test]
fn maintenance_answers() {
    let named =
        LfsFile { oid: sha(0xab), size: 1024, pushed_at: TIME, filename: Some("weights/model.bin".into()) };
    let unnamed = LfsFile { filename: None, ..named.clone() };
    check("lfs_files", &vec![LfsFileView::new(&named), LfsFileView::new(&unnamed)]);
    let failed = [DuplicateFailure {
        sha256: "cd".repeat(32),
        error: "File not found in the source repository".into(),
    }];
    check("duplicate_failed", &DuplicateResultView::new(&failed));
    check("duplicate_ok", &DuplicateResultView::new(&[]));
    let mut private = repo(RepoType::Dataset, Gating::Off);
    private.private = true;
    check(
        "repo_storage",
        &vec![
            RepoStorageView::new(&repo(RepoType::Model, Gating::Off), 0),
            RepoStorageView::new(&private, 4096),
        ],
    );
}

/// A commit's facts as the indexer stores them: a sharded model's count, a GGUF summary, one
/// flagged file and the card/config derivation.
fn facts() -> crate::CommitFacts {
    use kura_formats::derive::{Derived, TransformersInfo};
    crate::CommitFacts {
        safetensors: Some(crate::ParameterCount {
            parameters: BTreeMap::from([("BF16".to_owned(), 7_000), ("F32".to_owned(), 12)]),
            total: 7_012,
        }),
        gguf: Some(crate::GgufSummary {
            total: 8_190_735_360,
            architecture: Some("qwen3".into()),
            context_length: Some(40_960),
            ..Default::default()
        }),
        files_with_issues: vec![crate::FileIssue {
            path: "evil.pkl".into(),
            level: crate::ScanLevel::Unsafe,
        }],
        files_inspected: 3,
        files_skipped: 0,
        derived: Derived {
            library_name: Some("transformers".into()),
            pipeline_tag: Some("text-generation".into()),
            transformers_info: Some(TransformersInfo {
                auto_model: "AutoModelForCausalLM".into(),
                pipeline_tag: Some("text-generation".into()),
                processor: Some("AutoTokenizer".into()),
                ..Default::default()
            }),
            config: Some(
                json!({"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "tokenizer_config": {}}),
            ),
            tags: vec!["transformers".into(), "safetensors".into(), "gpt2".into(), "text-generation".into()],
            widget_data: Some(json!([{"text": "My name is Julien and I like to"}])),
            base_models: None,
            mask_token: None,
        },
    }
}

#[test]
fn repo_info_with_computed_facts_and_the_security_status() {
    let mut view = info(RepoType::Model, false).with_facts(Some(&facts()));
    view.security_repo_status = Some(SecurityRepoStatusView::new(Some(&facts())));
    check("repo_info_model_facts", &view);
    // Every expand value the client may send is answered, with its type, even where kura has
    // nothing (then zero, an empty list or null).
    let everything = [
        "author",
        "baseModels",
        "cardData",
        "childrenModelCount",
        "config",
        "createdAt",
        "disabled",
        "downloads",
        "downloadsAllTime",
        "evalResults",
        "gated",
        "gguf",
        "inference",
        "inferenceProviderMapping",
        "lastModified",
        "library_name",
        "likes",
        "mask_token",
        "model-index",
        "pipeline_tag",
        "private",
        "resourceGroup",
        "safetensors",
        "sha",
        "siblings",
        "spaces",
        "tags",
        "transformersInfo",
        "trendingScore",
        "usedStorage",
        "widgetData",
    ];
    let expanded = info(RepoType::Model, false).expanded(&everything);
    let value = serde_json::to_value(&expanded).expect("serializes");
    for name in everything {
        assert!(value.get(name).is_some(), "expand={name} is answered: {value}");
    }
    check("repo_info_expand_everything", &expanded);
    let unindexed = SecurityRepoStatusView::new(None);
    assert_eq!(
        serde_json::to_value(unindexed).expect("serializes"),
        json!({"filesWithIssues": [], "scansDone": false})
    );
}

#[test]
fn security_file_statuses() {
    use kura_formats::inspect::{FileFacts, PickleFacts, ScannedImport};
    use kura_formats::pickle_policy::Safety;
    let import =
        |module: &str, name: &str, safety| ScannedImport { module: module.into(), name: name.into(), safety };
    let evil = FileFacts {
        pickle: Some(PickleFacts {
            imports: vec![
                import("collections", "OrderedDict", Safety::Innocuous),
                import("os", "system", Safety::Dangerous),
            ],
            highest: Some(Safety::Dangerous),
            ..Default::default()
        }),
        ..Default::default()
    };
    let odd = FileFacts {
        pickle: Some(PickleFacts {
            imports: vec![import("mylib", "Thing", Safety::Suspicious)],
            highest: Some(Safety::Suspicious),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut entry = TreeEntryView::new(&lfs_file());
    entry.security_file_status = Some(SecurityFileStatusView::of(Some(&evil)));
    check(
        "security_file_statuses",
        &vec![
            SecurityFileStatusView::unscanned(),
            SecurityFileStatusView::of(None),
            SecurityFileStatusView::of(Some(&odd)),
        ],
    );
    check("tree_entry_with_security", &vec![entry]);
}

"""The Reachy Mini robot app store on kura, with only `HF_ENDPOINT` set (contracts-wave2 §5.4,
§5.5): the calls below are the ones the unmodified pollen-robotics/reachy_mini daemon and its
app assistant make with `huggingface_hub`.

* Publishing (`assistant.publish`, the `upload_folder` path): `whoami`, `repo_exists`,
  `create_repo(repo_type="space", space_sdk="static", exist_ok=False)`, `upload_folder` of an app
  made from the daemon's templates (README front matter, `index.html`, `style.css`,
  `pyproject.toml` with a `reachy_mini_apps` entry point, the package).
* Likes decide the order: the browser's `POST /api/spaces/{id}/like`, from three users.
* The community catalogue (`sources/hf_space.py`): `list_spaces(filter="reachy_mini_python_app",
  sort="likes", limit=500, full=True)`, read the way the daemon reads it (`space.__dict__` made
  plain JSON, `cardData.short_description`); also `filter` repeated, `author=`, `search=`.
  Untagged Spaces, private apps (for others) and a tagged model never show.
* Install (`sources/local_common_venv.install_package`): `space_info`, `list_repo_files`,
  `snapshot_download(ignore_patterns=[".gitattributes", ".gitignore"])`, `pip install` of the
  snapshot into a fresh venv; discovery through the `reachy_mini_apps` entry points and a run
  as `python -u -m module.main`; `direct_url.json` read the way `app_update_checker` reads it.
* Curation (`assistant.request_app_addition`): a pull request adding a Space id to a store's
  `app-list.json`; only the store's owner merges it.

Offline: the apps have no dependencies and pip runs with `--no-index --no-deps
--no-build-isolation` (the daemon lets pip fetch `setuptools` from PyPI instead)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import metadata
from pathlib import Path

import pytest
from huggingface_hub import CommitOperationAdd, HfApi, snapshot_download
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError
from support import http, unique

# The daemon's constants (sources/hf_space.py, sources/app_update_checker.py).
HF_SPACES_FILTER = "reachy_mini_python_app"
HF_SPACES_LIMIT = 500
HF_CACHE_PATTERN = re.compile(r"spaces--([^/]+)--([^/]+)/snapshots/([a-f0-9]{40})(?:/|$)")
APP_LIST = "app-list.json"


# --------------------------------------------------------------------------------------------
# the apps, as `reachy-mini-app-assistant create` lays them out
# --------------------------------------------------------------------------------------------


@dataclass
class Author:
    name: str
    write_token: str = field(repr=False)
    api: HfApi = field(repr=False)


@dataclass
class App:
    name: str  # Space name = project name = module = entry point name (assistant.create)
    author: Author = field(repr=False)
    description: str
    marker: str  # what the app prints when it runs; only the server's copy knows it
    tags: list[str]
    private: bool = False
    space_id: str = ""

    @property
    def class_name(self) -> str:
        return "".join(word.capitalize() for word in self.name.split("_"))

    @property
    def title(self) -> str:
        return " ".join(word.capitalize() for word in self.name.split("_"))


def write_app(root: Path, app: App) -> Path:
    base = root / app.name
    pkg = base / app.name
    (pkg / "static").mkdir(parents=True)
    tags = "".join(f" - {t}\n" for t in app.tags)
    (base / "README.md").write_text(
        "---\n"
        f"title: {app.title}\n"
        "emoji: 👋\n"
        "colorFrom: red\n"
        "colorTo: blue\n"
        "sdk: static\n"
        "pinned: false\n"
        f"short_description: {app.description}\n"
        f"tags:\n{tags}"
        "---\n"
        f"# {app.title}\n",
        encoding="utf-8",
    )
    (base / "index.html").write_text(
        f'<!doctype html><html><head><link rel="stylesheet" href="style.css"></head>'
        f"<body><h1>{app.title}</h1></body></html>\n"
    )
    (base / "style.css").write_text("h1 { font-family: sans-serif }\n")
    (base / ".gitignore").write_text("__pycache__/\n*.egg-info/\nbuild/\n")
    (base / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61.0"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "{app.name}"\nversion = "0.1.0"\ndescription = "{app.description}"\n'
        'readme = "README.md"\nrequires-python = ">=3.10"\ndependencies = []\nkeywords = ["reachy-mini-app"]\n\n'
        f'[project.entry-points."reachy_mini_apps"]\n{app.name} = "{app.name}.main:{app.class_name}"\n\n'
        '[tool.setuptools]\npackage-dir = { "" = "." }\ninclude-package-data = true\n\n'
        f'[tool.setuptools.packages.find]\nwhere = ["."]\ninclude = ["{app.name}*"]\n\n'
        f'[tool.setuptools.package-data]\n{app.name} = ["**/*"]\n'
    )
    (pkg / "__init__.py").write_text("")
    # reachy_mini itself is not installed (offline): a stand-in base class with the same shape.
    (pkg / "main.py").write_text(
        "import threading\n\n\n"
        "class ReachyMiniApp:\n    custom_app_url = None\n\n\n"
        f"class {app.class_name}(ReachyMiniApp):\n"
        '    custom_app_url: str | None = "http://0.0.0.0:8042"\n\n'
        "    def run(self, reachy_mini, stop_event: threading.Event):\n"
        f"        print({app.marker!r}, flush=True)\n\n\n"
        'if __name__ == "__main__":\n'
        f"    app = {app.class_name}()\n"
        "    stop = threading.Event()\n"
        f"    print(\"Running '{app.name}' a ReachyMiniApp...\")\n"
        "    app.run(None, stop)\n"
        '    print("App has stopped.")\n'
    )
    (pkg / "static" / "index.html").write_text(f"<p>settings of {app.name}</p>\n")
    return base


def publish(api: HfApi, app_dir: Path, private: bool) -> str:
    """assistant.publish for a new app, with its `upload_folder` path (the git remote it would
    push to is hard-coded to huggingface.co)."""
    username = api.whoami()["name"]
    repo_path = f"{username}/{app_dir.name}"
    assert not api.repo_exists(repo_path, repo_type="space")
    api.create_repo(repo_path, repo_type="space", private=private, exist_ok=False, space_sdk="static")
    api.upload_folder(folder_path=str(app_dir), repo_id=repo_path, repo_type="space", commit_message="Initial commit")
    return repo_path


def like(hub, token: str, space_id: str) -> int:
    status, _, _ = http("POST", f"{hub.endpoint}/api/spaces/{space_id}/like", token=token)
    return status


# --------------------------------------------------------------------------------------------
# the daemon's reading of the catalogue (sources/hf_space.py)
# --------------------------------------------------------------------------------------------


def _to_plain_json(value: object) -> object:
    def default(o: object) -> object:
        if isinstance(o, (datetime, date)):
            return o.isoformat()
        return getattr(o, "__dict__", str(o))

    return json.loads(json.dumps(value, default=default))


def _normalize(space: dict) -> dict:
    out = dict(space)
    for snake, camel in (("created_at", "createdAt"), ("last_modified", "lastModified"), ("card_data", "cardData")):
        value = out.pop(snake, None)
        if not out.get(camel) and value is not None:
            out[camel] = value
    return out


def daemon_catalogue(token: str | bool | None) -> list[dict]:
    """`_list_all_spaces_with_hf_api` then `_build_app_info`: the payloads the store shows."""
    api = HfApi()  # the endpoint comes from HF_ENDPOINT alone
    assert api.endpoint == os.environ["HF_ENDPOINT"]
    spaces = api.list_spaces(filter=HF_SPACES_FILTER, sort="likes", limit=HF_SPACES_LIMIT, full=True, token=token)
    payloads = []
    for space in spaces:
        data = _normalize(_to_plain_json(space.__dict__))
        card = data.get("cardData") if isinstance(data.get("cardData"), dict) else {}
        data["description"] = card.get("short_description") or ""
        payloads.append(data)
    return payloads


# --------------------------------------------------------------------------------------------
# the store
# --------------------------------------------------------------------------------------------


@dataclass
class Store:
    stem: str
    carol: Author
    apps: dict[str, App]  # key -> app
    likes: dict[str, int]  # space id -> likes given

    def public_ranked(self) -> list[App]:
        listed = [a for a in self.apps.values() if HF_SPACES_FILTER in a.tags and not a.private]
        return sorted(listed, key=lambda a: -self.likes[a.space_id])

    @property
    def all_ids(self) -> set[str]:
        return {a.space_id for a in self.apps.values()}


def _author(user) -> Author:
    return Author(user.name, user.write_token, user.api)


@pytest.fixture(scope="module")
def store(hub, tmp_path_factory) -> Store:
    carol_name = unique("carol")
    hub.admin_cli("user", "create", carol_name)
    carol_token = hub.admin_cli("token", "create", carol_name, "--role", "write").strip()
    carol = Author(carol_name, carol_token, HfApi(endpoint=hub.endpoint, token=carol_token))
    alice, bob = _author(hub.alice), _author(hub.bob)
    everyone = [alice, bob, carol]

    stem = f"rm_{uuid.uuid4().hex[:8]}"
    both = ["reachy_mini", HF_SPACES_FILTER]

    def app(word: str, author: Author, description: str, tags=both, private=False) -> App:
        return App(f"{stem}_{word}", author, description, f"{word} ran {uuid.uuid4().hex}", list(tags), private)

    apps = {
        # created in this order, so that neither creation order nor its reverse is the likes order
        "dance": app("dance", alice, "Dances to the music it hears"),
        "idle": app("idle", alice, "Does nothing at all, quietly"),
        "wave": app("wave", carol, "Waves hello at everyone it sees"),
        "track": app("track", bob, "Follows your hand with its head"),
        "landing": app("landing", bob, "A page about the robot, not an app", tags=["reachy_mini"]),
        "secret": app("secret", alice, "A private app in progress", private=True),
    }
    given = {  # who likes what
        "wave": everyone,  # 3
        "dance": [bob, carol],  # 2
        "track": [alice],  # 1
        "idle": [],  # 0
        "landing": everyone,  # 3, but it is not an app
        "secret": [alice],  # 1, seen by alice only
    }
    root = tmp_path_factory.mktemp("apps")
    for a in apps.values():
        a.space_id = publish(a.author.api, write_app(root, a), a.private)
        assert a.space_id == f"{a.author.name}/{a.name}"
    likes = {}
    for key, likers in given.items():
        for who in likers:
            assert like(hub, who.write_token, apps[key].space_id) == 200, (who.name, key)
        likes[apps[key].space_id] = len(likers)
    # A model carrying the app tag is no Space.
    model = f"alice/{stem}_model"
    alice.api.create_repo(model)
    alice.api.upload_file(path_or_fileobj=f"---\ntags:\n - {HF_SPACES_FILTER}\n---\n".encode(), path_in_repo="README.md",
                          repo_id=model)
    return Store(stem, carol, apps, likes)


# --------------------------------------------------------------------------------------------
# publishing
# --------------------------------------------------------------------------------------------


def test_published_apps_are_static_spaces_with_their_card(hub, store):
    for a in store.apps.values():
        info = a.author.api.space_info(a.space_id)
        assert info.id == a.space_id and info.sdk == "static" and info.private is a.private
        assert info.card_data is not None, a.space_id
        card = info.card_data.to_dict()
        assert card["short_description"] == a.description and card["title"] == a.title
        assert card["tags"] == a.tags and card["sdk"] == "static" and card["pinned"] is False
        assert set(a.tags) <= set(info.tags), (a.space_id, info.tags)
        files = {s.rfilename for s in info.siblings}
        assert {"README.md", "index.html", "style.css", "pyproject.toml", ".gitignore",
                f"{a.name}/__init__.py", f"{a.name}/main.py", f"{a.name}/static/index.html"} <= files, files
        assert info.likes == store.likes[a.space_id]
    # Publishing the same app twice: the repo exists (what `publish` checks), a new one is refused.
    dance = store.apps["dance"]
    assert dance.author.api.repo_exists(dance.space_id, repo_type="space")
    with pytest.raises(HfHubHTTPError) as again:
        dance.author.api.create_repo(dance.space_id, repo_type="space", space_sdk="static", exist_ok=False)
    assert again.value.response.status_code == 409
    # The private app is nobody else's business.
    secret = store.apps["secret"]
    for api in (hub.bob.api, store.carol.api, hub.anon):
        with pytest.raises(RepositoryNotFoundError):
            api.space_info(secret.space_id)


# --------------------------------------------------------------------------------------------
# the catalogue
# --------------------------------------------------------------------------------------------


def test_the_catalogue_lists_public_apps_by_likes(hub, store):
    expected = [a.space_id for a in store.public_ranked()]
    assert [store.likes[i] for i in expected] == [3, 2, 1, 0]
    for who, token in (("anonymous", False), ("bob", hub.bob.write_token), ("carol", store.carol.write_token)):
        listed = daemon_catalogue(token)
        # Other tests' Spaces may be listed too, but only tagged ones, always in likes order.
        for item in listed:
            assert HF_SPACES_FILTER in (item.get("tags") or []), (who, item["id"], item.get("tags"))
        likes = [item["likes"] for item in listed]
        assert likes == sorted(likes, reverse=True), (who, [(i["id"], i["likes"]) for i in listed])
        mine = [item for item in listed if item["id"] in store.all_ids]
        assert [item["id"] for item in mine] == expected, (who, [(i["id"], i["likes"]) for i in mine])
        for item in mine:
            app = next(a for a in store.apps.values() if a.space_id == item["id"])
            assert item["description"] == app.description, (who, item["id"], item.get("cardData"))
            assert item["cardData"]["title"] == app.title and item["cardData"]["sdk"] == "static"
            assert item["likes"] == store.likes[item["id"]]
            assert item["private"] is False
            assert item["sdk"] == "static" and item["author"] == app.author.name
            assert re.fullmatch(r"[0-9a-f]{40}", item["sha"] or ""), item
            assert item["lastModified"] and item["createdAt"]
            assert "pyproject.toml" in {s["rfilename"] for s in item["siblings"] or []}, item["id"]
    # With her token the author also sees her private app, marked private (the daemon lists
    # "private ones when authenticated").
    alice_view = {item["id"]: item for item in daemon_catalogue(hub.alice.write_token) if item["id"] in store.all_ids}
    secret = store.apps["secret"]
    assert set(alice_view) == set(expected) | {secret.space_id}
    assert alice_view[secret.space_id]["private"] is True
    assert alice_view[secret.space_id]["description"] == secret.description


def test_the_catalogue_filters_by_tags_author_and_search(hub, store):
    api = HfApi(token=False)
    apps = store.apps
    ranked = [a.space_id for a in store.public_ranked()]

    def ids(**kwargs):
        return [s.id for s in api.list_spaces(sort="likes", **kwargs)]

    assert ids(filter=HF_SPACES_FILTER, search=store.stem) == ranked
    # Repeated `filter`: every tag must be there.
    assert ids(filter=["reachy_mini", HF_SPACES_FILTER], search=store.stem) == ranked
    assert ids(filter=["reachy_mini", HF_SPACES_FILTER, "no-such-tag"], search=store.stem) == []
    # One tag alone brings the landing page (not an app) in as well.
    assert set(ids(filter="reachy_mini", search=store.stem)) == set(ranked) | {apps["landing"].space_id}
    assert ids(filter=HF_SPACES_FILTER, search=store.stem, author=hub.bob.name) == [apps["track"].space_id]
    assert ids(filter=HF_SPACES_FILTER, search=store.stem, author=store.carol.name) == [apps["wave"].space_id]
    assert ids(filter=HF_SPACES_FILTER, search=store.stem, author=hub.alice.name) == [
        apps["dance"].space_id, apps["idle"].space_id]
    assert ids(filter=HF_SPACES_FILTER, search=f"{store.stem}_wave") == [apps["wave"].space_id]
    assert ids(filter=HF_SPACES_FILTER, search=f"{store.stem}_landing") == []
    assert ids(filter=HF_SPACES_FILTER, search=f"{store.stem}_secret") == []
    assert ids(filter=HF_SPACES_FILTER, search=f"{store.stem}_model") == [], "a model is not a Space"
    assert ids(filter=HF_SPACES_FILTER, search=store.stem, limit=2) == ranked[:2]


# --------------------------------------------------------------------------------------------
# install, discover, run
# --------------------------------------------------------------------------------------------


def _build_backend_dir(tmp_path: Path) -> Path:
    """The test interpreter's setuptools, for pip's --no-build-isolation build: the setuptools
    Python 3.11's venv ships (65.5) cannot build a wheel without `wheel`, which is not there
    offline. Only setuptools is put on the path, never the test's other packages."""
    dist = metadata.distribution("setuptools")
    site = Path(dist.locate_file(""))
    out = tmp_path / "build-backend"
    out.mkdir()
    for name in ("setuptools", "_distutils_hack", f"setuptools-{dist.version}.dist-info"):
        assert (site / name).exists(), site / name
        (out / name).symlink_to(site / name)
    return out


def run(cmd: list[str], *, env=None, cwd=None, timeout=300) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd} exited with {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def install_package(space_id: str, python: Path, backend: Path, token=None) -> tuple[Path, str]:
    """local_common_venv.install_package for an HF Space: (snapshot dir, the space's sha)."""
    api = HfApi(token=token)
    space_info = api.space_info(repo_id=space_id)
    files_in_repo = api.list_repo_files(repo_id=space_id, repo_type="space", token=token)
    assert "pyproject.toml" in files_in_repo and ".gitignore" in files_in_repo, files_in_repo
    target = snapshot_download(
        repo_id=space_id,
        repo_type="space",
        token=token,
        ignore_patterns=[".gitattributes", ".gitignore"],
        allow_patterns=None,
    )
    downloaded = {p.relative_to(target).as_posix() for p in Path(target).rglob("*") if p.is_file()}
    assert "pyproject.toml" in downloaded and ".gitignore" not in downloaded, downloaded
    assert downloaded <= set(files_in_repo), downloaded - set(files_in_repo)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))}
    env["PYTHONPATH"] = str(backend)
    run([str(python), "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
         "--no-build-isolation", "--no-deps", "--no-index", target], env=env)
    return Path(target), space_info.sha


def test_install_discover_and_run_apps_from_the_catalogue(hub, store, tmp_path):
    # The store's top two apps, as a user picks them.
    top = [item["id"] for item in daemon_catalogue(False) if item["id"] in store.all_ids][:2]
    assert top == [a.space_id for a in store.public_ranked()[:2]]
    apps = [next(a for a in store.apps.values() if a.space_id == i) for i in top]

    venv = tmp_path / "apps_venv"  # the Wireless robot's shared apps venv
    run([sys.executable, "-m", "venv", str(venv)])
    python = venv / "bin" / "python"
    backend = _build_backend_dir(tmp_path)
    installed = {}
    for app in apps:
        snapshot, sha = install_package(app.space_id, python, backend)
        owner, name = app.space_id.split("/")
        assert snapshot.parts[-2:] == ("snapshots", sha), snapshot
        assert f"spaces--{owner}--{name}" in snapshot.parts
        installed[app.name] = sha

    clean_env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    workdir = tmp_path / "run"  # not the snapshot: the code must come from the venv
    workdir.mkdir()
    # Discovery: the daemon's listing script, then the entry points it loads.
    listed = run([str(python), "-c",
                  "from importlib.metadata import entry_points; "
                  "eps = entry_points(group='reachy_mini_apps'); "
                  "print('\\n'.join(ep.name for ep in eps))"], env=clean_env, cwd=workdir).stdout.split()
    assert sorted(listed) == sorted(a.name for a in apps)
    probe = (
        "import json, sys, importlib.util\n"
        "from importlib.metadata import entry_points, distribution\n"
        "out = {}\n"
        "for ep in entry_points(group='reachy_mini_apps'):\n"
        "    cls = ep.load()\n"
        "    dist = distribution(ep.dist.name)\n"
        "    out[ep.name] = {'value': ep.value, 'module': ep.module, 'class': cls.__name__,\n"
        "        'custom_app_url': cls.custom_app_url, 'origin': importlib.util.find_spec(ep.module).origin,\n"
        "        'direct_url': json.loads(dist.read_text('direct_url.json')),\n"
        "        'static': [str(f) for f in dist.files if str(f).endswith('static/index.html')]}\n"
        "print(json.dumps(out))\n"
    )
    found = json.loads(run([str(python), "-c", probe], env=clean_env, cwd=workdir).stdout)
    site = run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
               env=clean_env, cwd=workdir).stdout.strip()
    for app in apps:
        ep = found[app.name]
        assert ep["value"] == f"{app.name}.main:{app.class_name}" and ep["class"] == app.class_name
        assert ep["custom_app_url"] == "http://0.0.0.0:8042"
        assert ep["origin"] == f"{site}/{app.name}/main.py", "installed into the venv, not run from the snapshot"
        assert ep["static"] == [f"{app.name}/static/index.html"], "package data comes along"
        # app_update_checker reads the Space and the commit back from pip's direct_url.json.
        match = HF_CACHE_PATTERN.search(ep["direct_url"]["url"])
        assert match, ep["direct_url"]
        assert (f"{match.group(1)}/{match.group(2)}", match.group(3)) == (app.space_id, installed[app.name])
        # The daemon runs an app as `python -u -m module.main` in its venv.
        out = run([str(python), "-u", "-m", ep["module"]], env=clean_env, cwd=workdir, timeout=60).stdout
        assert out.splitlines() == [f"Running '{app.name}' a ReachyMiniApp...", app.marker, "App has stopped."], out

    # The author ships a new version: the Space's sha moves, which is what an update check compares.
    first = apps[0]
    before = HfApi().space_info(first.space_id)
    first.author.api.upload_file(path_or_fileobj=b"# v0.2\n", path_in_repo="CHANGELOG.md",
                                 repo_id=first.space_id, repo_type="space")
    after = HfApi().space_info(first.space_id)
    assert before.sha == installed[first.name] and after.sha != installed[first.name]
    assert after.last_modified >= before.last_modified


def test_a_private_app_installs_only_for_its_owner(hub, store, tmp_path):
    secret = store.apps["secret"]
    for token in (hub.bob.write_token, False):
        with pytest.raises(RepositoryNotFoundError):
            HfApi(token=token).space_info(repo_id=secret.space_id)
        with pytest.raises(RepositoryNotFoundError):
            snapshot_download(repo_id=secret.space_id, repo_type="space", token=token,
                              cache_dir=tmp_path / "other", ignore_patterns=[".gitattributes", ".gitignore"])
    target = snapshot_download(repo_id=secret.space_id, repo_type="space", token=hub.alice.write_token,
                               ignore_patterns=[".gitattributes", ".gitignore"])
    main = Path(target, secret.name, "main.py").read_text()
    assert secret.marker in main


# --------------------------------------------------------------------------------------------
# curation by pull request
# --------------------------------------------------------------------------------------------


def request_app_addition(api: HfApi, store_repo: str, new_app_repo_id: str, tmp_path: Path):
    """assistant.request_app_addition: False when an open PR exists or the id is listed."""
    user = api.whoami()["name"]
    existing_prs = api.get_repo_discussions(repo_id=store_repo, repo_type="dataset", author=user,
                                            discussion_type="pull_request", discussion_status="open")
    for pr in existing_prs:
        if new_app_repo_id in pr.title:
            return False
    local_downloaded = api.hf_hub_download(repo_id=store_repo, filename=APP_LIST, repo_type="dataset")
    with open(local_downloaded) as f:
        app_list = json.load(f)
    if new_app_repo_id in app_list:
        return False
    app_list.append(new_app_repo_id)
    updated_path = tmp_path / unique("app-list") / APP_LIST
    updated_path.parent.mkdir()
    with open(updated_path, "w") as f:
        json.dump(app_list, f, indent=4)
        f.write("\n")
    return api.create_commit(
        repo_id=store_repo,
        repo_type="dataset",
        commit_message=f"Add {new_app_repo_id} to app-list.json",
        commit_description=f"Append `{new_app_repo_id}` to the list of Reachy Mini apps.",
        operations=[CommitOperationAdd(path_in_repo=APP_LIST, path_or_fileobj=str(updated_path))],
        create_pr=True,
    )


def app_list_at_main(api: HfApi, store_repo: str) -> list[str]:
    with open(api.hf_hub_download(repo_id=store_repo, filename=APP_LIST, repo_type="dataset")) as f:
        return json.load(f)


def open_prs(api: HfApi, store_repo: str, author: str) -> list:
    return list(api.get_repo_discussions(repo_id=store_repo, repo_type="dataset", author=author,
                                         discussion_type="pull_request", discussion_status="open"))


def test_curation_by_pull_request_to_the_store_list(hub, store, tmp_path):
    owner = hub.alice.api
    bob, carol = hub.bob.api, store.carol.api
    apps = store.apps
    store_repo = f"{hub.org}/reachy-mini-official-app-store-{store.stem[3:]}"
    owner.create_repo(store_repo, repo_type="dataset")
    owner.upload_file(path_or_fileobj=(json.dumps([apps["dance"].space_id], indent=4) + "\n").encode(),
                      path_in_repo=APP_LIST, repo_id=store_repo, repo_type="dataset")
    main_before = owner.dataset_info(store_repo).sha

    track = apps["track"].space_id
    assert open_prs(bob, store_repo, "bob") == []
    opened = request_app_addition(bob, store_repo, track, tmp_path)
    assert opened and opened.pr_num is not None, opened
    assert opened.pr_url.endswith(f"/datasets/{store_repo}/discussions/{opened.pr_num}"), opened.pr_url
    (pr,) = open_prs(bob, store_repo, "bob")
    assert (pr.num, pr.title, pr.author, pr.is_pull_request, pr.status) == (
        opened.pr_num, f"Add {track} to app-list.json", "bob", True, "open")
    assert open_prs(carol, store_repo, store.carol.name) == []
    assert request_app_addition(bob, store_repo, track, tmp_path) is False, "one open request per app"
    assert len(open_prs(owner, store_repo, "bob")) == 1

    # The author cannot merge his own request into the store.
    with pytest.raises(HfHubHTTPError) as refused:
        bob.merge_pull_request(store_repo, opened.pr_num, repo_type="dataset")
    assert refused.value.response.status_code == 403, refused.value.response.text
    assert owner.dataset_info(store_repo).sha == main_before
    assert app_list_at_main(bob, store_repo) == [apps["dance"].space_id]

    owner.merge_pull_request(store_repo, opened.pr_num, repo_type="dataset", comment="Welcome!")
    assert owner.get_discussion_details(store_repo, opened.pr_num, repo_type="dataset").status == "merged"
    assert open_prs(bob, store_repo, "bob") == []
    assert app_list_at_main(bob, store_repo) == [apps["dance"].space_id, track]
    assert request_app_addition(bob, store_repo, track, tmp_path) is False, "already listed"

    # A second author asks after the first was merged; the owner merges that too.
    wave = apps["wave"].space_id
    second = request_app_addition(carol, store_repo, wave, tmp_path)
    assert second and second.pr_num != opened.pr_num
    owner.merge_pull_request(store_repo, second.pr_num, repo_type="dataset")
    curated = app_list_at_main(HfApi(token=False), store_repo)
    assert curated == [apps["dance"].space_id, track, wave]
    # The curated catalogue: each listed Space's card, read through the endpoint.
    described = {i: HfApi(token=False).space_info(i).card_data.to_dict()["short_description"] for i in curated}
    assert described == {a.space_id: a.description for a in (apps["dance"], apps["track"], apps["wave"])}

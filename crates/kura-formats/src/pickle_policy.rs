//! How dangerous each import of a pickle is, by the lists picklescan (1.0.5) and the Hub use:
//! an import is dangerous if its module (or a parent module listed as "everything") or its
//! exact name is on the deny list, or if it could not be resolved (`unknown`); innocuous if on
//! the allow list (what `torch.save` and numpy write); suspicious otherwise.

use crate::pickle::Import;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Safety {
    Innocuous,
    Suspicious,
    Dangerous,
}

impl Safety {
    pub fn as_str(self) -> &'static str {
        match self {
            Safety::Innocuous => "innocuous",
            Safety::Suspicious => "suspicious",
            Safety::Dangerous => "dangerous",
        }
    }
}

/// Which names of a module a list covers.
enum Names {
    All,
    Some(&'static [&'static str]),
    /// Any part of this text (picklescan lists a few modules with a string instead of a set,
    /// which Python's `in` reads as a substring test; kept so verdicts match it).
    Within(&'static str),
}

impl Names {
    fn covers(&self, name: &str) -> bool {
        match self {
            Names::All => true,
            Names::Some(names) => names.contains(&name),
            Names::Within(text) => text.contains(name),
        }
    }
}

const BUILTINS: &[&str] = &["eval", "compile", "getattr", "apply", "exec", "open", "breakpoint"];
const OPERATORS: &[&str] = &["attrgetter", "itemgetter", "methodcaller"];

const ALLOW: &[(&str, Names)] = &[
    ("collections", Names::Some(&["OrderedDict"])),
    (
        "torch",
        Names::Some(&[
            "LongStorage",
            "FloatStorage",
            "HalfStorage",
            "QUInt2x4Storage",
            "QUInt4x2Storage",
            "QInt32Storage",
            "QInt8Storage",
            "QUInt8Storage",
            "ComplexFloatStorage",
            "ComplexDoubleStorage",
            "DoubleStorage",
            "BFloat16Storage",
            "BoolStorage",
            "CharStorage",
            "ShortStorage",
            "IntStorage",
            "ByteStorage",
        ]),
    ),
    ("numpy", Names::Some(&["dtype", "ndarray"])),
    ("numpy._core.multiarray", Names::Some(&["_reconstruct"])),
    ("numpy.core.multiarray", Names::Some(&["_reconstruct"])),
    ("torch._utils", Names::Some(&["_rebuild_tensor_v2"])),
];

const DENY: &[(&str, Names)] = &[
    ("__builtin__", Names::Some(BUILTINS)),
    ("builtins", Names::Some(BUILTINS)),
    (
        "cloudpickle.cloudpickle",
        Names::Some(&[
            "_builtin_type",
            "_make_function",
            "_function_setstate",
            "_make_cell",
            "_make_empty_cell",
            "subimport",
        ]),
    ),
    ("types", Names::Some(&["CodeType"])),
    ("aiohttp", Names::All),
    ("asyncio", Names::All),
    ("bdb", Names::All),
    ("commands", Names::All),
    ("ctypes", Names::All),
    ("functools", Names::Within("partial")),
    ("httplib", Names::All),
    ("logging", Names::Some(&["FileHandler"])),
    ("_io", Names::Some(&["FileIO"])),
    ("numpy.f2py", Names::All),
    ("numpy.testing._private.utils", Names::All),
    ("nt", Names::All),
    ("posix", Names::All),
    ("_operator", Names::Some(OPERATORS)),
    ("operator", Names::Some(OPERATORS)),
    ("os", Names::All),
    ("requests.api", Names::All),
    ("runpy", Names::All),
    ("shutil", Names::All),
    ("socket", Names::All),
    ("ssl", Names::All),
    ("subprocess", Names::All),
    ("sys", Names::All),
    ("code", Names::Some(&["InteractiveInterpreter.runcode"])),
    ("cProfile", Names::All),
    ("distutils.file_util", Names::All),
    ("doctest", Names::Some(&["debug_script"])),
    ("ensurepip", Names::Some(&["_run_pip"])),
    ("idlelib.autocomplete", Names::Some(&["AutoComplete.get_entity", "AutoComplete.fetch_completions"])),
    ("idlelib.calltip", Names::Some(&["Calltip.fetch_tip", "get_entity"])),
    ("idlelib.debugobj", Names::Some(&["ObjectTreeItem.SetText"])),
    ("idlelib.pyshell", Names::Some(&["ModifiedInterpreter.runcode", "ModifiedInterpreter.runcommand"])),
    ("idlelib.run", Names::Some(&["Executive.runcode"])),
    ("imaplib", Names::Some(&["IMAP4_stream"])),
    ("lib2to3.pgen2.grammar", Names::Some(&["Grammar.loads"])),
    ("lib2to3.pgen2.pgen", Names::Some(&["ParserGenerator.make_label"])),
    ("pdb", Names::All),
    ("pickle", Names::All),
    ("_pickle", Names::All),
    ("pip", Names::All),
    ("pkgutil", Names::Some(&["resolve_name"])),
    ("pty", Names::All),
    ("profile", Names::All),
    ("pydoc", Names::All),
    ("test", Names::All),
    ("timeit", Names::All),
    ("torch._dynamo.guards", Names::Some(&["GuardBuilder.get"])),
    ("torch._inductor.codecache", Names::Within("compile_file")),
    ("torch.fx.experimental.symbolic_shapes", Names::Some(&["ShapeEnv.evaluate_guards_expression"])),
    ("torch.jit.unsupported_tensor_ops", Names::Some(&["execWrapper"])),
    ("torch.serialization", Names::Within("load")),
    ("torch.utils._config_module", Names::Some(&["ConfigModule.load_config"])),
    ("torch.utils.bottleneck.__main__", Names::Some(&["run_cprofile", "run_autograd_prof"])),
    ("torch.utils.collect_env", Names::Some(&["run"])),
    ("torch.utils.data.datapipes.utils.decoder", Names::Some(&["basichandlers"])),
    ("trace", Names::Some(&["Trace.run", "Trace.runctx"])),
    ("urllib.request", Names::All),
    ("uuid", Names::All),
    ("venv", Names::All),
    ("webbrowser", Names::All),
    ("_osx_support", Names::All),
    ("_aix_support", Names::All),
    ("_pyrepl", Names::All),
];

/// kura's additions to picklescan's deny list: modules that reach a shell or build native
/// code without being named by it (`multiprocessing.util.spawnv_passfds` forks a command,
/// `_posixsubprocess.fork_exec` is what `subprocess` calls, `torch.utils.cpp_extension`
/// compiles and loads C++ source, `marshal`/`code`/`importlib` load code objects and modules).
const KURA_DENY: &[(&str, Names)] = &[
    ("multiprocessing", Names::All),
    ("_posixsubprocess", Names::All),
    ("torch.utils.cpp_extension", Names::All),
    ("marshal", Names::All),
    ("code", Names::All),
    ("importlib", Names::All),
    ("_winapi", Names::All),
];

fn listed<'a>(list: &'a [(&str, Names)], module: &str) -> Option<&'a Names> {
    list.iter().find(|(m, _)| *m == module).map(|(_, names)| names)
}

/// The verdict on one import.
pub fn safety(import: &Import) -> Safety {
    if import.module.contains("unknown") || import.name.contains("unknown") {
        return Safety::Dangerous;
    }
    let mut deny = listed(DENY, &import.module).or_else(|| listed(KURA_DENY, &import.module));
    if deny.is_none() {
        // A parent module denied as a whole denies its submodules too.
        let parts: Vec<&str> = import.module.split('.').collect();
        for end in 1..parts.len() {
            let parent = parts[..end].join(".");
            if [DENY, KURA_DENY].iter().any(|list| matches!(listed(list, &parent), Some(Names::All))) {
                deny = Some(&Names::All);
                break;
            }
        }
    }
    if deny.is_some_and(|names| names.covers(&import.name)) {
        return Safety::Dangerous;
    }
    if listed(ALLOW, &import.module).is_some_and(|names| names.covers(&import.name)) {
        return Safety::Innocuous;
    }
    Safety::Suspicious
}

/// The worst verdict among imports (`None` when there is none).
pub fn highest(imports: &[Import]) -> Option<Safety> {
    imports.iter().map(safety).max()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(module: &str, name: &str) -> Safety {
        safety(&Import { module: module.into(), name: name.into() })
    }

    #[test]
    fn kura_denies_shells_and_code_loaders_picklescan_does_not_name() {
        assert_eq!(of("multiprocessing.util", "spawnv_passfds"), Safety::Dangerous);
        assert_eq!(of("_posixsubprocess", "fork_exec"), Safety::Dangerous);
        assert_eq!(of("torch.utils.cpp_extension", "load_inline"), Safety::Dangerous);
        assert_eq!(of("marshal", "loads"), Safety::Dangerous);
        assert_eq!(of("multiprocessingx", "thing"), Safety::Suspicious, "whole names only");
    }

    #[test]
    fn verdicts_follow_the_lists() {
        assert_eq!(of("torch._utils", "_rebuild_tensor_v2"), Safety::Innocuous);
        assert_eq!(of("collections", "OrderedDict"), Safety::Innocuous);
        assert_eq!(of("os", "system"), Safety::Dangerous);
        assert_eq!(of("os.path", "join"), Safety::Dangerous, "a parent denied as a whole");
        assert_eq!(of("builtins", "eval"), Safety::Dangerous);
        assert_eq!(of("builtins", "print"), Safety::Suspicious);
        assert_eq!(of("functools", "partial"), Safety::Dangerous);
        assert_eq!(of("functools", "reduce"), Safety::Suspicious);
        assert_eq!(of("torch.serialization", "load"), Safety::Dangerous);
        assert_eq!(of("unknown", "x"), Safety::Dangerous);
        assert_eq!(of("numpy.core.multiarray", "scalar"), Safety::Suspicious);
        assert_eq!(of("osx", "x"), Safety::Suspicious, "a prefix that is not a parent module");
    }
}

//! What every page's frame shows: the title, who is signed in, and the CSRF token its forms
//! carry.

use crate::request::Req;

pub(crate) struct Layout {
    pub(crate) title: String,
    pub(crate) user: Option<String>,
    pub(crate) csrf: String,
    pub(crate) css: &'static str,
    pub(crate) js: &'static str,
}

impl Layout {
    pub(crate) fn new(req: &Req, title: &str) -> Self {
        Layout {
            title: title.to_owned(),
            user: req.identity.principal().map(|p| p.user.name.clone()),
            csrf: req.csrf.clone().unwrap_or_default(),
            css: crate::assets::CSS_URL.as_str(),
            js: crate::assets::JS_URL.as_str(),
        }
    }

    /// The frame of pages rendered without a request at hand (error pages).
    pub(crate) fn bare(title: &str) -> Self {
        Layout {
            title: title.to_owned(),
            user: None,
            csrf: String::new(),
            css: crate::assets::CSS_URL.as_str(),
            js: crate::assets::JS_URL.as_str(),
        }
    }
}

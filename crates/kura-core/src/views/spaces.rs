//! Spaces: variables as `get_space_variables` parses them (a map by key).

use std::collections::BTreeMap;

use kura_model::format_timestamp;
use kura_storage::SpaceVariable;
use serde::Serialize;

/// One variable's value, description and last change.
#[derive(Debug, Clone, Serialize)]
pub struct SpaceVariableView {
    pub value: String,
    pub description: Option<String>,
    #[serde(rename = "updatedAt")]
    pub updated_at: String,
}

/// A Space's variables by key.
pub fn space_variables_view(variables: &[SpaceVariable]) -> BTreeMap<String, SpaceVariableView> {
    variables
        .iter()
        .map(|v| {
            let view = SpaceVariableView {
                value: v.value.clone(),
                description: v.description.clone(),
                updated_at: format_timestamp(v.updated_at),
            };
            (v.key.clone(), view)
        })
        .collect()
}

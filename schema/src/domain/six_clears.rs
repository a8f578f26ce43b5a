//! The "six clears" (六清): which data items make each section clear. A section is complete
//! when every item it needs has been answered; an empty list is an answer ("no skills",
//! "no policies enjoyed"), a missing or null item is not.

use serde_json::Value;

use crate::entities::get_path;

crate::text_enum! {
    /// The six sections of the record, in the guide's order.
    pub enum Section {
        /// 基本情况清
        Basic = "basic",
        /// 困难类别清
        Difficulty = "difficulty",
        /// 家庭状况清
        Family = "family",
        /// 援助需求清
        Needs = "needs",
        /// 参保情况清
        Insurance = "insurance",
        /// 政策享受清
        Policies = "policies",
    }
}

impl Section {
    /// The items that must be answered for the section to be clear.
    pub fn required_items(self) -> &'static [&'static str] {
        match self {
            Section::Basic => &["basic.education", "basic.health", "basic.phone"],
            Section::Difficulty => &["difficulty.categories"],
            Section::Family => &[
                "family.members",
                "family.employed_members",
                "family.monthly_income",
                "family.zero_employment",
            ],
            Section::Needs => &["needs.job_types", "needs.training", "needs.hours"],
            Section::Insurance => &[
                "insurance.pension",
                "insurance.medical",
                "insurance.unemployment",
                "insurance.paying",
            ],
            Section::Policies => &["policies.enjoyed"],
        }
    }

    /// The required items not answered in `doc` (a six_clears document).
    pub fn missing(self, doc: &Value) -> Vec<&'static str> {
        self.required_items()
            .iter()
            .copied()
            .filter(|path| get_path(doc, path).is_none_or(Value::is_null))
            .collect()
    }

    pub fn is_complete(self, doc: &Value) -> bool {
        self.missing(doc).is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_required_item_is_a_declared_six_clears_field() {
        let spec = crate::entities::spec(crate::entities::Entity::SixClears);
        for section in Section::ALL {
            for path in section.required_items() {
                assert!(spec.field(path).is_some(), "{path}");
                assert!(path.starts_with(section.as_str()), "{path}");
            }
        }
    }

    #[test]
    fn a_section_is_complete_when_each_item_is_answered() {
        let cases: &[(Section, Value, bool)] = &[
            (Section::Basic, json!({}), false),
            (
                Section::Basic,
                json!({"basic": {"education": "primary", "health": "healthy"}}),
                false,
            ),
            (
                Section::Basic,
                json!({"basic": {"education": "primary", "health": "healthy", "phone": {"masked": "138****0000"}}}),
                true,
            ),
            // An empty list is an answer.
            (
                Section::Difficulty,
                json!({"difficulty": {"categories": []}}),
                true,
            ),
            (
                Section::Difficulty,
                json!({"difficulty": {"categories": null}}),
                false,
            ),
            (
                Section::Policies,
                json!({"policies": {"enjoyed": []}}),
                true,
            ),
            (
                Section::Family,
                json!({"family": {"members": 3, "employed_members": 0, "monthly_income": 0}}),
                false,
            ),
            (
                Section::Family,
                json!({"family": {"members": 3, "employed_members": 0, "monthly_income": 0, "zero_employment": true}}),
                true,
            ),
        ];
        for (section, doc, complete) in cases {
            assert_eq!(section.is_complete(doc), *complete, "{section} {doc}");
        }
        assert_eq!(
            Section::Insurance.missing(&json!({"insurance": {"pension": "none"}})),
            [
                "insurance.medical",
                "insurance.unemployment",
                "insurance.paying"
            ]
        );
    }
}

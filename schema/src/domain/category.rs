//! Eligibility categories (就业援助对象的范围), the evidence each needs, and the one-time
//! notice (一次性告知) that lists every missing material at once, so an applicant never has
//! to come back twice for the same application.

crate::text_enum! {
    /// Why a registered unemployed person qualifies for employment assistance.
    pub enum Category {
        LowIncomeFamily = "low_income_family",
        OlderWorker = "older_worker",
        HardshipWorkerFamily = "hardship_worker_family",
        Disabled = "disabled",
        UrbanZeroEmploymentFamily = "urban_zero_employment_family",
        LongTermUnemployed = "long_term_unemployed",
        LandlessFarmer = "landless_farmer",
        RuralZeroTransferFamily = "rural_zero_transfer_family",
        RegisteredPoorHousehold = "registered_poor_household",
        ProvincialOther = "provincial_other",
    }
}

impl Category {
    pub fn chinese_name(self) -> &'static str {
        match self {
            Category::LowIncomeFamily => "享受城乡居民最低生活保障的家庭成员",
            Category::OlderWorker => "女40周岁以上、男50周岁以上人员",
            Category::HardshipWorkerFamily => "特困职工家庭成员",
            Category::Disabled => "残疾人员",
            Category::UrbanZeroEmploymentFamily => "城镇零就业家庭成员",
            Category::LongTermUnemployed => "连续失业1年以上人员",
            Category::LandlessFarmer => "城市规划区范围内的被征地农民",
            Category::RuralZeroTransferFamily => "农村零转移家庭人员",
            Category::RegisteredPoorHousehold => "建档立卡贫困户劳动力",
            Category::ProvincialOther => "省定其他就业困难人员",
        }
    }
}

crate::text_enum! {
    /// A kind of supporting document. The order is the order of the one-time notice: the
    /// three always-required documents come first.
    pub enum EvidenceType {
        HouseholdRegister = "household_register",
        ResidentIdCard = "resident_id_card",
        EmploymentCard = "employment_card",
        LowIncomeCertificate = "low_income_certificate",
        HardshipWorkerCertificate = "hardship_worker_certificate",
        DisabilityCertificate = "disability_certificate",
        LandRequisitionCertificate = "land_requisition_certificate",
        VillageCommitteeCertificate = "village_committee_certificate",
        PovertyRegistrationCertificate = "poverty_registration_certificate",
        ProvincialOtherCertificate = "provincial_other_certificate",
        /// The flexible-employment subsidy's materials: insurance receipts, the signed
        /// statement of the flexible work, the card or account to be paid into, and a
        /// self-employed applicant's business licence.
        InsuranceReceipt = "insurance_receipt",
        FlexibleWorkStatement = "flexible_work_statement",
        BankCard = "bank_card",
        BusinessLicence = "business_licence",
        /// The public-welfare job subsidy's materials for each person placed: the labour
        /// contract and the record of wages paid.
        LabourContract = "labour_contract",
        WageRecord = "wage_record",
    }
}

impl EvidenceType {
    pub fn chinese_name(self) -> &'static str {
        match self {
            EvidenceType::HouseholdRegister => "户口簿",
            EvidenceType::ResidentIdCard => "居民身份证",
            EvidenceType::EmploymentCard => "就业创业证",
            EvidenceType::LowIncomeCertificate => "城乡居民最低生活保障金领取证",
            EvidenceType::HardshipWorkerCertificate => "特困职工证",
            EvidenceType::DisabilityCertificate => "残疾人证",
            EvidenceType::LandRequisitionCertificate => "征地证明",
            EvidenceType::VillageCommitteeCertificate => "村委会证明",
            EvidenceType::PovertyRegistrationCertificate => "建档立卡证明",
            EvidenceType::ProvincialOtherCertificate => "省定其他证明材料",
            EvidenceType::InsuranceReceipt => "社会保险费缴费单据",
            EvidenceType::FlexibleWorkStatement => "灵活就业情况证明（本人签字、基层平台盖章）",
            EvidenceType::BankCard => "社会保障卡或银行卡复印件",
            EvidenceType::BusinessLicence => "营业执照（载有统一社会信用代码）",
            EvidenceType::LabourContract => "劳动合同",
            EvidenceType::WageRecord => "工资发放记录",
        }
    }
}

/// Needed for every application, whatever the categories.
pub const ALWAYS_REQUIRED: [EvidenceType; 3] = [
    EvidenceType::HouseholdRegister,
    EvidenceType::ResidentIdCard,
    EvidenceType::EmploymentCard,
];

/// The evidence a category relies on; it may overlap [`ALWAYS_REQUIRED`].
///
/// `older_worker` needs the household register or ID card, both always required, so it adds
/// nothing. `long_term_unemployed` and `urban_zero_employment_family` name the employment
/// card (for the latter: the family members' cards) so the notice can say which category
/// relies on it.
pub fn evidence_for(category: Category) -> &'static [EvidenceType] {
    match category {
        Category::LowIncomeFamily => &[EvidenceType::LowIncomeCertificate],
        Category::OlderWorker => &[],
        Category::HardshipWorkerFamily => &[EvidenceType::HardshipWorkerCertificate],
        Category::Disabled => &[EvidenceType::DisabilityCertificate],
        Category::UrbanZeroEmploymentFamily => &[EvidenceType::EmploymentCard],
        Category::LongTermUnemployed => &[EvidenceType::EmploymentCard],
        Category::LandlessFarmer => &[EvidenceType::LandRequisitionCertificate],
        Category::RuralZeroTransferFamily => &[EvidenceType::VillageCommitteeCertificate],
        Category::RegisteredPoorHousehold => &[EvidenceType::PovertyRegistrationCertificate],
        Category::ProvincialOther => &[EvidenceType::ProvincialOtherCertificate],
    }
}

/// One line of the one-time notice.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MissingMaterial {
    pub evidence: EvidenceType,
    /// Required for every application (household register, ID card, employment card).
    pub always_required: bool,
    /// The claimed categories that rely on it, in `Category` order; may be empty only when
    /// `always_required`.
    pub for_categories: Vec<Category>,
}

/// Every material still missing, at once: each always-required document and each claimed
/// category's evidence that is neither `approved` nor available by data `shared`, one entry
/// per evidence type, always-required first and then in `EvidenceType` order.
pub fn one_time_notice(
    claimed: &[Category],
    approved: &[EvidenceType],
    shared: &[EvidenceType],
) -> Vec<MissingMaterial> {
    EvidenceType::ALL
        .iter()
        .copied()
        .filter(|evidence| !approved.contains(evidence) && !shared.contains(evidence))
        .filter_map(|evidence| {
            let always_required = ALWAYS_REQUIRED.contains(&evidence);
            let for_categories: Vec<Category> = Category::ALL
                .iter()
                .copied()
                .filter(|c| claimed.contains(c) && evidence_for(*c).contains(&evidence))
                .collect();
            (always_required || !for_categories.is_empty()).then_some(MissingMaterial {
                evidence,
                always_required,
                for_categories,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Category as C;
    use EvidenceType as E;

    fn always(evidence: EvidenceType, for_categories: &[Category]) -> MissingMaterial {
        MissingMaterial {
            evidence,
            always_required: true,
            for_categories: for_categories.to_vec(),
        }
    }

    fn extra(evidence: EvidenceType, for_categories: &[Category]) -> MissingMaterial {
        MissingMaterial {
            evidence,
            always_required: false,
            for_categories: for_categories.to_vec(),
        }
    }

    #[test]
    fn always_required_documents_come_first_in_enum_order() {
        assert_eq!(&E::ALL[..3], &ALWAYS_REQUIRED[..]);
    }

    #[test]
    fn every_category_has_a_chinese_name_and_known_evidence() {
        for c in C::ALL {
            assert!(!c.chinese_name().is_empty(), "{c}");
            let evidence = evidence_for(*c);
            let mut sorted = evidence.to_vec();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted, evidence, "{c}: evidence sorted and unique");
        }
        for e in E::ALL {
            assert!(!e.chinese_name().is_empty(), "{e}");
        }
    }

    /// Name, claimed, approved, shared, expected notice.
    type Case = (&'static str, Vec<C>, Vec<E>, Vec<E>, Vec<MissingMaterial>);

    #[test]
    fn one_time_notice_lists_everything_missing() {
        let base = || {
            vec![
                always(E::HouseholdRegister, &[]),
                always(E::ResidentIdCard, &[]),
                always(E::EmploymentCard, &[]),
            ]
        };
        let cases: Vec<Case> = vec![
            ("nothing claimed", vec![], vec![], vec![], base()),
            (
                "older worker adds nothing",
                vec![C::OlderWorker],
                vec![],
                vec![],
                base(),
            ),
            (
                "one certificate",
                vec![C::Disabled],
                vec![],
                vec![],
                [
                    base(),
                    vec![extra(E::DisabilityCertificate, &[C::Disabled])],
                ]
                .concat(),
            ),
            (
                "employment card names the categories relying on it",
                vec![C::LongTermUnemployed, C::UrbanZeroEmploymentFamily],
                vec![],
                vec![],
                vec![
                    always(E::HouseholdRegister, &[]),
                    always(E::ResidentIdCard, &[]),
                    always(
                        E::EmploymentCard,
                        &[C::UrbanZeroEmploymentFamily, C::LongTermUnemployed],
                    ),
                ],
            ),
            (
                "stable order and no duplicates whatever the claim order",
                vec![
                    C::ProvincialOther,
                    C::LowIncomeFamily,
                    C::ProvincialOther,
                    C::Disabled,
                ],
                vec![],
                vec![],
                [
                    base(),
                    vec![
                        extra(E::LowIncomeCertificate, &[C::LowIncomeFamily]),
                        extra(E::DisabilityCertificate, &[C::Disabled]),
                        extra(E::ProvincialOtherCertificate, &[C::ProvincialOther]),
                    ],
                ]
                .concat(),
            ),
            (
                "approved evidence is not asked for again",
                vec![C::LowIncomeFamily, C::Disabled],
                vec![E::ResidentIdCard, E::DisabilityCertificate],
                vec![],
                vec![
                    always(E::HouseholdRegister, &[]),
                    always(E::EmploymentCard, &[]),
                    extra(E::LowIncomeCertificate, &[C::LowIncomeFamily]),
                ],
            ),
            (
                "shared evidence is not asked for",
                vec![C::LowIncomeFamily, C::RegisteredPoorHousehold],
                vec![],
                vec![E::HouseholdRegister, E::LowIncomeCertificate],
                vec![
                    always(E::ResidentIdCard, &[]),
                    always(E::EmploymentCard, &[]),
                    extra(
                        E::PovertyRegistrationCertificate,
                        &[C::RegisteredPoorHousehold],
                    ),
                ],
            ),
            (
                "approved plus shared cover everything",
                vec![C::LongTermUnemployed, C::LandlessFarmer],
                vec![E::EmploymentCard, E::LandRequisitionCertificate],
                vec![E::HouseholdRegister, E::ResidentIdCard],
                vec![],
            ),
            (
                "evidence for unclaimed categories is ignored",
                vec![C::RuralZeroTransferFamily],
                vec![E::DisabilityCertificate],
                vec![E::HardshipWorkerCertificate],
                [
                    base(),
                    vec![extra(
                        E::VillageCommitteeCertificate,
                        &[C::RuralZeroTransferFamily],
                    )],
                ]
                .concat(),
            ),
        ];
        for (name, claimed, approved, shared, want) in cases {
            assert_eq!(
                one_time_notice(&claimed, &approved, &shared),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn every_category_alone_asks_for_its_own_evidence() {
        for c in C::ALL {
            let notice = one_time_notice(&[*c], &[], &[]);
            for evidence in evidence_for(*c) {
                let line = notice
                    .iter()
                    .find(|m| m.evidence == *evidence)
                    .expect("evidence listed");
                assert_eq!(line.for_categories, vec![*c], "{c}");
            }
            for required in ALWAYS_REQUIRED {
                assert!(notice.iter().any(|m| m.evidence == required), "{c}");
            }
        }
    }
}

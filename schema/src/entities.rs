//! The syncable entities of the case file and their fields: one declared table saying, for
//! every field, its type and its merge policy. The sync engine merges by this table, the
//! validators check by it, and the contract documents it, so there is one place to read
//! what a record may hold.

use serde_json::Value;

use crate::org::OrgKind;

crate::text_enum! {
    /// The `entity` names of the sync protocol.
    pub enum Entity {
        Household = "household",
        Person = "person",
        SixClears = "six_clears",
        Visit = "visit",
        Commitment = "commitment",
        Evidence = "evidence",
        ServiceRecord = "service_record",
        Assessment = "assessment",
        Plan = "plan",
        Recognition = "recognition",
        Exit = "exit",
        Task = "task",
        /// An objection raised against an application during publicity (公示期间的异议).
        Objection = "objection",
        /// An employer of the district (用人单位), kept by the street it sits in.
        Employer = "employer",
        /// A coordinator's call on an employer (单位走访), append-only.
        EmployerVisit = "employer_visit",
        /// A job an employer offers (岗位): what it asks and what it pays.
        Vacancy = "vacancy",
        /// A job recommended to a person (岗位推荐) and what came of it.
        Referral = "referral",
        /// A person taking up a job (上岗).
        Placement = "placement",
        /// A follow-up call after a placement (跟踪回访), append-only.
        FollowUp = "follow_up",
        /// An application for the flexible-employment social insurance subsidy
        /// (灵活就业社保补贴): the person's flexible work, the insurance they paid, the
        /// months applied for; its approval chain is taken by actions only.
        FlexibleSubsidy = "flexible_subsidy",
        /// An employer's application for the public-welfare job subsidy (社区公益性岗位补贴)
        /// for the recognised persons it placed on public-welfare jobs, received by a
        /// community's station; its approval chain is taken by actions only.
        WelfareSubsidy = "welfare_subsidy",
        /// A month's verification of a running subsidy (补贴跟踪回访), append-only: what the
        /// coordinator found of the person's work, wage and insurance.
        SubsidyCheck = "subsidy_check",
    }
}

crate::text_enum! {
    /// How concurrent edits of a field are merged (see the sync protocol).
    pub enum Policy {
        /// Last writer by hybrid logical clock wins; the loser becomes a conflict record.
        Lww = "lww",
        /// A multi-select set changed by add/remove operations; merges without conflicts.
        Union = "union",
        /// Written once when the record is created, never changed.
        AppendOnly = "append_only",
        /// Owned by station staff: a coordinator's value is kept as a proposal for review.
        StaffLocked = "staff_locked",
    }
}

/// What a field may hold. Values are JSON in the protocol and in `records.data`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldType {
    Text {
        max: usize,
    },
    Int {
        min: i64,
        max: i64,
    },
    Float {
        min: f64,
        max: f64,
    },
    Bool,
    /// `YYYY-MM-DD`.
    Date,
    /// RFC 3339.
    Timestamp,
    Choice(&'static [&'static str]),
    /// A set of strings (union policy); `allowed: None` takes any short text.
    Set {
        allowed: Option<&'static [&'static str]>,
        max_items: usize,
    },
    /// The id of another record of this entity.
    Ref(Entity),
    /// A list of record ids (e.g. the persons seen on a visit).
    RefList(Entity),
    /// 64 lower-case hex characters: an attachment or a text hash.
    Sha256,
    /// A resident ID number: validated, encrypted at rest, masked in answers.
    IdNumber,
    /// A mainland mobile number: validated, encrypted at rest, masked in answers.
    MobilePhone,
    /// A unified social credit code (GB 32100), its check character verified.
    CreditCode,
    /// A bank account to pay a subsidy into: validated, encrypted at rest, masked in
    /// answers.
    AccountNumber,
    /// A calendar month, `YYYY-MM` (a subsidy's months).
    Month,
    /// A structured list kept whole (e.g. policies enjoyed with their periods).
    Json {
        max_bytes: usize,
    },
}

#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    /// Dotted path: `basic.phone`, `needs.job_types`.
    pub path: &'static str,
    pub ty: FieldType,
    pub policy: Policy,
    /// Must be given when the record is created.
    pub required: bool,
}

#[derive(Debug)]
pub struct EntitySpec {
    pub entity: Entity,
    /// The field naming the record this one belongs to, and its entity. A record placed
    /// in an org node instead names its node (`node`).
    pub parent: Option<(&'static str, Entity)>,
    /// For a record with no parent: the field naming the org node it lives in, and that
    /// node's kind (a household in its community, an employer in its street).
    pub node: Option<(&'static str, OrgKind)>,
    /// Whole records never edited after creation (`visit`, `commitment`, …).
    pub append_only: bool,
    /// Phones may create and edit it; otherwise only station staff (through the same
    /// engine) write it and phones only read.
    pub phone_writable: bool,
    pub fields: &'static [FieldSpec],
}

impl EntitySpec {
    pub fn field(&self, path: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.path == path)
    }
}

const fn f(path: &'static str, ty: FieldType, policy: Policy) -> FieldSpec {
    FieldSpec {
        path,
        ty,
        policy,
        required: false,
    }
}

const fn req(path: &'static str, ty: FieldType, policy: Policy) -> FieldSpec {
    FieldSpec {
        path,
        ty,
        policy,
        required: true,
    }
}

use FieldType as T;
use Policy::{AppendOnly as A, Lww as L, StaffLocked as S, Union as U};

const SHORT: FieldType = T::Text { max: 200 };
const LONG: FieldType = T::Text { max: 4000 };

pub const CATEGORIES: &[&str] = &[
    "low_income_family",
    "older_worker",
    "hardship_worker_family",
    "disabled",
    "urban_zero_employment_family",
    "long_term_unemployed",
    "landless_farmer",
    "rural_zero_transfer_family",
    "registered_poor_household",
    "provincial_other",
];

pub const EVIDENCE_TYPES: &[&str] = &[
    "labour_contract",
    "wage_record",
    "insurance_receipt",
    "flexible_work_statement",
    "bank_card",
    "business_licence",
    "household_register",
    "resident_id_card",
    "employment_card",
    "low_income_certificate",
    "hardship_worker_certificate",
    "disability_certificate",
    "land_requisition_certificate",
    "village_committee_certificate",
    "poverty_registration_certificate",
    "provincial_other_certificate",
];

pub const SERVICE_KINDS: &[&str] = &[
    "career_guidance",
    "job_recommendation",
    "training_recommendation",
    "delivery_policy",
    "delivery_jobs",
    "delivery_skills",
    "delivery_subsidies",
    "delivery_services",
    "public_welfare_placement",
    "follow_up",
];

pub const EXIT_REASONS: &[&str] = &[
    "employed",
    "self_employed",
    "stable_income",
    "receiving_pension",
    "lost_work_ability",
    "school_military_emigration",
    "imprisoned",
    "ended_job_search",
    "no_contact_six_months",
    "other_employment_registration",
];

const EDUCATION: &[&str] = &[
    "none",
    "primary",
    "junior_high",
    "senior_high",
    "vocational",
    "college",
    "bachelor",
    "postgraduate",
];

static HOUSEHOLD: EntitySpec = EntitySpec {
    entity: Entity::Household,
    parent: None,
    node: Some(("community_id", OrgKind::Community)),
    append_only: false,
    phone_writable: true,
    fields: &[
        req("community_id", T::Text { max: 64 }, A),
        req("address", SHORT, L),
        f("zero_employment", T::Bool, L),
        f("zero_employment_found_on", T::Date, L),
        f("zero_employment_cleared_on", T::Date, L),
        f("notes", LONG, L),
    ],
};

static PERSON: EntitySpec = EntitySpec {
    entity: Entity::Person,
    parent: Some(("household_id", Entity::Household)),
    node: None,
    append_only: false,
    phone_writable: true,
    fields: &[
        req("household_id", T::Ref(Entity::Household), L),
        req("name", T::Text { max: 50 }, L),
        f("id_number", T::IdNumber, L),
        f("sex", T::Choice(&["male", "female"]), L),
        f("birth_date", T::Date, L),
        f("phone", T::MobilePhone, L),
        f("education", T::Choice(EDUCATION), L),
        f("unemployment_registered_on", T::Date, L),
        f("employment_card_no", T::Text { max: 40 }, L),
        // Set by staff once they have checked the ID card against the person.
        f("identity_verified", T::Bool, S),
    ],
};

static SIX_CLEARS: EntitySpec = EntitySpec {
    entity: Entity::SixClears,
    parent: Some(("person_id", Entity::Person)),
    node: None,
    append_only: false,
    phone_writable: true,
    fields: &[
        req("person_id", T::Ref(Entity::Person), A),
        // 基本情况清
        f("basic.education", T::Choice(EDUCATION), L),
        f(
            "basic.skills",
            T::Set {
                allowed: None,
                max_items: 50,
            },
            U,
        ),
        f("basic.work_history", LONG, L),
        f(
            "basic.health",
            T::Choice(&["healthy", "chronic_illness", "disabled", "other"]),
            L,
        ),
        f("basic.phone", T::MobilePhone, L),
        // 困难类别清
        f(
            "difficulty.categories",
            T::Set {
                allowed: Some(CATEGORIES),
                max_items: 10,
            },
            U,
        ),
        f("difficulty.notes", LONG, L),
        // 家庭状况清
        f("family.members", T::Int { min: 1, max: 30 }, L),
        f("family.employed_members", T::Int { min: 0, max: 30 }, L),
        f("family.dependants", T::Int { min: 0, max: 30 }, L),
        f(
            "family.monthly_income",
            T::Int {
                min: 0,
                max: 10_000_000,
            },
            L,
        ),
        f("family.zero_employment", T::Bool, L),
        // 援助需求清
        f(
            "needs.job_types",
            T::Set {
                allowed: None,
                max_items: 30,
            },
            U,
        ),
        f(
            "needs.training",
            T::Set {
                allowed: None,
                max_items: 30,
            },
            U,
        ),
        f(
            "needs.hours",
            T::Choice(&["daytime", "part_time", "flexible", "shifts", "any"]),
            L,
        ),
        f("needs.location", SHORT, L),
        f(
            "needs.expected_pay",
            T::Int {
                min: 0,
                max: 1_000_000,
            },
            L,
        ),
        f("needs.startup_intent", T::Bool, L),
        // 参保情况清
        f(
            "insurance.pension",
            T::Choice(&["none", "employee", "resident"]),
            L,
        ),
        f(
            "insurance.medical",
            T::Choice(&["none", "employee", "resident"]),
            L,
        ),
        f("insurance.unemployment", T::Bool, L),
        f("insurance.paying", T::Bool, L),
        // 政策享受清: [{"policy": "…", "from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}]
        f("policies.enjoyed", T::Json { max_bytes: 8_000 }, L),
    ],
};

static VISIT: EntitySpec = EntitySpec {
    entity: Entity::Visit,
    parent: Some(("household_id", Entity::Household)),
    node: None,
    append_only: true,
    phone_writable: true,
    fields: &[
        req("household_id", T::Ref(Entity::Household), A),
        req("started_at", T::Timestamp, A),
        f("ended_at", T::Timestamp, A),
        f("latitude", LATITUDE, A),
        f("longitude", LONGITUDE, A),
        f(
            "accuracy_m",
            T::Float {
                min: 0.0,
                max: 100_000.0,
            },
            A,
        ),
        req(
            "outcome",
            T::Choice(&["met", "not_home", "refused", "moved", "other"]),
            A,
        ),
        f("persons_seen", T::RefList(Entity::Person), A),
        f("notes", LONG, A),
        // An on-site check (上门核实) of an application, when the station asks for one.
        f(
            "purpose",
            T::Choice(&["routine", "site_check", "follow_up"]),
            A,
        ),
        f("recognition_id", T::Ref(Entity::Recognition), A),
        f("findings", LONG, A),
    ],
};

static COMMITMENT: EntitySpec = EntitySpec {
    entity: Entity::Commitment,
    parent: Some(("person_id", Entity::Person)),
    node: None,
    append_only: true,
    phone_writable: true,
    fields: &[
        req("person_id", T::Ref(Entity::Person), A),
        req("template_version", T::Text { max: 40 }, A),
        req("text_sha256", T::Sha256, A),
        req("signature_sha256", T::Sha256, A),
        req("signed_at", T::Timestamp, A),
        f("place", SHORT, A),
    ],
};

static EVIDENCE: EntitySpec = EntitySpec {
    entity: Entity::Evidence,
    parent: Some(("person_id", Entity::Person)),
    node: None,
    append_only: false,
    phone_writable: true,
    fields: &[
        req("person_id", T::Ref(Entity::Person), A),
        req("evidence_type", T::Choice(EVIDENCE_TYPES), A),
        f("category", T::Choice(CATEGORIES), A),
        req("attachment_sha256", T::Sha256, A),
        f("captured_at", T::Timestamp, A),
        f("valid_until", T::Date, A),
        f(
            "review_state",
            T::Choice(&["pending", "approved", "rejected", "retake"]),
            S,
        ),
        f("review_reason", SHORT, S),
    ],
};

static SERVICE_RECORD: EntitySpec = EntitySpec {
    entity: Entity::ServiceRecord,
    parent: Some(("person_id", Entity::Person)),
    node: None,
    append_only: true,
    phone_writable: true,
    fields: &[
        req("person_id", T::Ref(Entity::Person), A),
        req("kind", T::Choice(SERVICE_KINDS), A),
        req("delivered_on", T::Date, A),
        f("notes", LONG, A),
        f("job_title", SHORT, A),
        f("employer", SHORT, A),
    ],
};

static ASSESSMENT: EntitySpec = EntitySpec {
    entity: Entity::Assessment,
    parent: Some(("person_id", Entity::Person)),
    node: None,
    append_only: false,
    phone_writable: false,
    fields: &[
        req("person_id", T::Ref(Entity::Person), A),
        f(
            "general_causes",
            T::Set {
                allowed: None,
                max_items: 20,
            },
            U,
        ),
        f(
            "specific_causes",
            T::Set {
                allowed: None,
                max_items: 20,
            },
            U,
        ),
        req("tier", T::Choice(&["I", "II", "III"]), S),
        req("assessed_on", T::Date, S),
    ],
};

static PLAN: EntitySpec = EntitySpec {
    entity: Entity::Plan,
    parent: Some(("person_id", Entity::Person)),
    node: None,
    append_only: false,
    phone_writable: true,
    fields: &[
        req("person_id", T::Ref(Entity::Person), A),
        f(
            "measures",
            T::Set {
                allowed: Some(SERVICE_KINDS),
                max_items: 10,
            },
            U,
        ),
        f("notes", LONG, L),
        f("agreed_on", T::Date, L),
        f("signature_sha256", T::Sha256, L),
    ],
};

static RECOGNITION: EntitySpec = EntitySpec {
    entity: Entity::Recognition,
    parent: Some(("person_id", Entity::Person)),
    node: None,
    append_only: false,
    phone_writable: true,
    fields: &[
        req("person_id", T::Ref(Entity::Person), A),
        f(
            "claimed_categories",
            T::Set {
                allowed: Some(CATEGORIES),
                max_items: 10,
            },
            U,
        ),
        f(
            "state",
            T::Choice(&[
                "received",
                "preliminary_review",
                "publicity",
                "recognised",
                "rejected",
            ]),
            S,
        ),
        f("received_on", T::Date, S),
        f("publicity_started_on", T::Date, S),
        f("publicity_ends_on", T::Date, S),
        f("decided_on", T::Date, S),
        f("reason", LONG, S),
        // Who did each step, when and why: appended by the server, [{"state", "by", "on", "reason"}].
        f("history", T::Json { max_bytes: 64_000 }, S),
    ],
};

static EXIT: EntitySpec = EntitySpec {
    entity: Entity::Exit,
    parent: Some(("person_id", Entity::Person)),
    node: None,
    append_only: false,
    phone_writable: false,
    fields: &[
        req("person_id", T::Ref(Entity::Person), A),
        // Written once: the rules check them when the exit is made (case_rules::may_exit),
        // and the follow-ups are scheduled from them. A wrong exit is deleted and made again.
        req("reason", T::Choice(EXIT_REASONS), A),
        req("exit_on", T::Date, A),
        f(
            "evidence_sha256",
            T::Set {
                allowed: None,
                max_items: 20,
            },
            S,
        ),
        f("notes", LONG, S),
    ],
};

static TASK: EntitySpec = EntitySpec {
    entity: Entity::Task,
    parent: Some(("household_id", Entity::Household)),
    node: None,
    append_only: false,
    phone_writable: true,
    fields: &[
        req("household_id", T::Ref(Entity::Household), A),
        f("person_id", T::Ref(Entity::Person), A),
        req("assignee_id", T::Text { max: 64 }, S),
        req(
            "kind",
            T::Choice(&[
                "retake_photo",
                "follow_up_due",
                "visit",
                "site_check",
                "job_match",
                "subsidy_check",
                "other",
            ]),
            S,
        ),
        req("title", SHORT, S),
        f("due_on", T::Date, S),
        // The application a `site_check` is asked for.
        f("recognition_id", T::Ref(Entity::Recognition), S),
        // The placement a `follow_up_due` follows (none when an exit for work scheduled it).
        f("placement_id", T::Ref(Entity::Placement), S),
        // The vacancy a `job_match` proposes (the daily new-matches run).
        f("vacancy_id", T::Ref(Entity::Vacancy), S),
        // The subsidy application a `subsidy_check` verifies (either kind), and its month.
        f("subsidy_id", T::Text { max: 64 }, S),
        f("month", T::Month, S),
        f("state", T::Choice(&["open", "done", "cancelled"]), L),
        f("notes", LONG, L),
    ],
};

/// An objection to an application in publicity (公示期间有异议的): who raised it, when and
/// what, recorded by whoever received it (a coordinator at the door, staff at the window);
/// station staff decide it. One not dismissed blocks recognition.
static OBJECTION: EntitySpec = EntitySpec {
    entity: Entity::Objection,
    parent: Some(("person_id", Entity::Person)),
    node: None,
    append_only: false,
    phone_writable: true,
    fields: &[
        req("person_id", T::Ref(Entity::Person), A),
        req("recognition_id", T::Ref(Entity::Recognition), A),
        req("raised_on", T::Date, A),
        // As the objector gave it: a name, or "匿名".
        req("raised_by", SHORT, A),
        req("content", LONG, A),
        f("outcome", T::Choice(&["pending", "upheld", "dismissed"]), S),
        f("resolved_on", T::Date, S),
        f("resolution", LONG, S),
    ],
};

pub const JOB_HOURS: &[&str] = &["full_day", "part_time", "shifts", "daytime"];

const WAGE: FieldType = T::Int {
    min: 0,
    max: 1_000_000,
};
const AGE: FieldType = T::Int { min: 16, max: 70 };
const HEADCOUNT: FieldType = T::Int {
    min: 0,
    max: 10_000,
};
const LATITUDE: FieldType = T::Float {
    min: -90.0,
    max: 90.0,
};
const LONGITUDE: FieldType = T::Float {
    min: -180.0,
    max: 180.0,
};

/// An employer (用人单位), kept by the street it sits in: every coordinator of the street
/// works with it. Phones record and edit what they learn; station staff own `verified`.
static EMPLOYER: EntitySpec = EntitySpec {
    entity: Entity::Employer,
    parent: None,
    node: Some(("street_id", OrgKind::Street)),
    append_only: false,
    phone_writable: true,
    fields: &[
        req("street_id", T::Text { max: 64 }, A),
        req("name", T::Text { max: 100 }, L),
        f("credit_code", T::CreditCode, L),
        // The community it sits in, when it is in one (checked to lie in the street).
        f("community_id", T::Text { max: 64 }, L),
        f("address", SHORT, L),
        f("contact_name", T::Text { max: 50 }, L),
        f("contact_phone", T::MobilePhone, L),
        f("industry", T::Text { max: 100 }, L),
        f("size", T::Choice(&["micro", "small", "medium", "large"]), L),
        f("notes", LONG, L),
        // Checked by station staff against the business licence.
        f("verified", T::Bool, S),
    ],
};

/// A coordinator's call on an employer (单位走访服务制度): when, where, what was found.
static EMPLOYER_VISIT: EntitySpec = EntitySpec {
    entity: Entity::EmployerVisit,
    parent: Some(("employer_id", Entity::Employer)),
    node: None,
    append_only: true,
    phone_writable: true,
    fields: &[
        req("employer_id", T::Ref(Entity::Employer), A),
        req("visited_at", T::Timestamp, A),
        f("latitude", LATITUDE, A),
        f("longitude", LONGITUDE, A),
        f("vacancies_found", HEADCOUNT, A),
        f("notes", LONG, A),
        // An on-site check (实地核查) of a public-welfare job subsidy application in the
        // station's initial review: the visit names the application.
        f("purpose", T::Choice(&["routine", "site_check"]), A),
        f("welfare_subsidy_id", T::Ref(Entity::WelfareSubsidy), A),
    ],
};

/// A job an employer offers (岗位信息: 岗位名称、数量、工作时间、地点、年龄、性别、技能要求、
/// 薪酬). `job_type` uses the words of six clears' `needs.job_types`, so matching compares
/// like with like. `sex_required` is recorded as the employer stated it and never used to
/// rank. Station staff approve a vacancy before it is recommended.
static VACANCY: EntitySpec = EntitySpec {
    entity: Entity::Vacancy,
    parent: Some(("employer_id", Entity::Employer)),
    node: None,
    append_only: false,
    phone_writable: true,
    fields: &[
        req("employer_id", T::Ref(Entity::Employer), A),
        req("title", T::Text { max: 100 }, L),
        req("job_type", T::Text { max: 50 }, L),
        req(
            "count",
            T::Int {
                min: 1,
                max: 10_000,
            },
            L,
        ),
        req("kind", T::Choice(&["market", "public_welfare"]), L),
        f("hours", T::Choice(JOB_HOURS), L),
        f("community_id", T::Text { max: 64 }, L),
        f("latitude", LATITUDE, L),
        f("longitude", LONGITUDE, L),
        f("wage_min", WAGE, L),
        f("wage_max", WAGE, L),
        f("age_min", AGE, L),
        f("age_max", AGE, L),
        f("sex_required", T::Choice(&["male", "female"]), L),
        f(
            "skills",
            T::Set {
                allowed: None,
                max_items: 20,
            },
            U,
        ),
        f("education_min", T::Choice(EDUCATION), L),
        f("disability_suitable", T::Bool, L),
        f("open_from", T::Date, L),
        f("open_until", T::Date, L),
        f("filled", HEADCOUNT, L),
        f("notes", LONG, L),
        f(
            "approval",
            T::Choice(&["pending", "approved", "rejected"]),
            S,
        ),
        f("approval_reason", SHORT, S),
    ],
};

/// A job recommended to a person (岗位推荐): the "3" of the "131" service.
static REFERRAL: EntitySpec = EntitySpec {
    entity: Entity::Referral,
    parent: Some(("person_id", Entity::Person)),
    node: None,
    append_only: false,
    phone_writable: true,
    fields: &[
        req("person_id", T::Ref(Entity::Person), A),
        req("vacancy_id", T::Ref(Entity::Vacancy), A),
        req("referred_on", T::Date, A),
        req(
            "channel",
            T::Choice(&["visit", "phone", "message", "window"]),
            A,
        ),
        f(
            "outcome",
            T::Choice(&[
                "pending",
                "interested",
                "declined",
                "interviewed",
                "hired",
                "not_hired",
            ]),
            L,
        ),
        f("decline_reason", SHORT, L),
        f("notes", LONG, L),
    ],
};

/// A person taking up a job (上岗), from a vacancy or found otherwise.
static PLACEMENT: EntitySpec = EntitySpec {
    entity: Entity::Placement,
    parent: Some(("person_id", Entity::Person)),
    node: None,
    append_only: false,
    phone_writable: true,
    fields: &[
        req("person_id", T::Ref(Entity::Person), A),
        f("employer_id", T::Ref(Entity::Employer), A),
        f("vacancy_id", T::Ref(Entity::Vacancy), A),
        // The employer's name when it is not one of the district's records.
        f("employer_name", T::Text { max: 100 }, A),
        f("job_title", T::Text { max: 100 }, L),
        req("started_on", T::Date, A),
        f("ended_on", T::Date, L),
        req(
            "kind",
            T::Choice(&["market", "public_welfare", "self_employed"]),
            A,
        ),
        f("contract_signed", T::Bool, L),
        f("insurance_paid", T::Bool, L),
        f("monthly_wage", WAGE, L),
        f("notes", LONG, L),
    ],
};

/// A follow-up after a placement (跟踪回访): with the person, the employer or both — still
/// employed, wages on time, contract, insurance, workload, problems and what was done.
static FOLLOW_UP: EntitySpec = EntitySpec {
    entity: Entity::FollowUp,
    parent: Some(("person_id", Entity::Person)),
    node: None,
    append_only: true,
    phone_writable: true,
    fields: &[
        req("person_id", T::Ref(Entity::Person), A),
        req("placement_id", T::Ref(Entity::Placement), A),
        req("followed_on", T::Date, A),
        req("with", T::Choice(&["person", "employer", "both"]), A),
        f("still_employed", T::Bool, A),
        f("wages_on_time", T::Bool, A),
        f("contract_signed", T::Bool, A),
        f("insurance_paid", T::Bool, A),
        f("workload", T::Choice(&["light", "normal", "heavy"]), A),
        f("problems", LONG, A),
        f("action", LONG, A),
    ],
};

/// An application for the flexible-employment social insurance subsidy (灵活就业社保补贴),
/// as the form the coordinator helps fill in (《就业困难人员从事个体经营或灵活就业申领社会
/// 保险补贴审核表》) has it: how the person works, the insurance they pay as a flexible
/// worker and how much, the account to pay into (sealed like an ID number), the months
/// applied for. The server computes the months and the amount; the chain's fields
/// ([`SUBSIDY_LIFECYCLE`]) change only by actions (`POST /v1/subsidies/{id}/actions`).
static FLEXIBLE_SUBSIDY: EntitySpec = EntitySpec {
    entity: Entity::FlexibleSubsidy,
    parent: Some(("person_id", Entity::Person)),
    node: None,
    append_only: false,
    phone_writable: true,
    fields: &[
        req("person_id", T::Ref(Entity::Person), A),
        req("work", T::Choice(&["flexible", "self_employed"]), L),
        f("work_place", SHORT, L),
        f("work_job", SHORT, L),
        f("work_hours", SHORT, L),
        f("monthly_income", WAGE, L),
        f("business_name", SHORT, L),
        f("business_credit_code", T::CreditCode, L),
        // What they pay a month as a flexible worker, yuan, over the months paid.
        f("pension_monthly", WAGE, L),
        f("medical_monthly", WAGE, L),
        f("unemployment_monthly", WAGE, L),
        f("paid_from", T::Month, L),
        f("paid_to", T::Month, L),
        f("account", T::AccountNumber, L),
        req("period_from", T::Month, L),
        req("period_to", T::Month, L),
        f("notes", LONG, L),
        f("state", T::Choice(SUBSIDY_STATES), S),
        f("received_on", T::Date, S),
        f("decided_on", T::Date, S),
        // The server's figures: the months paid and the amount, fen.
        f("payable_from", T::Month, S),
        f("payable_to", T::Month, S),
        f("months", T::Int { min: 0, max: 1200 }, S),
        f(
            "amount_fen",
            T::Int {
                min: 0,
                max: 10_000_000_000,
            },
            S,
        ),
        f("stopped_from", T::Month, S),
        f("stop_condition", SHORT, S),
        // A stop recommended to the approving level (by the station, or by the upkeep
        // for a condition it found): the condition, the first month it would not pay.
        f("recommended_stop", SHORT, S),
        f("recommended_stop_from", T::Month, S),
        f("recommended_on", T::Date, S),
        f("reason", LONG, S),
        // Who did each step, when and why: appended by the server.
        f("history", T::Json { max_bytes: 64_000 }, S),
    ],
};

/// An employer's application for the public-welfare job subsidy (社区公益性岗位补贴), as the
/// 《社区公益性岗位补贴申请表》 has it: the job, the persons placed on it (their
/// placements, each on a public-welfare job of this employer), the months applied for, the
/// unit's basic account the subsidy is paid into (sealed), and a photo of the signed and
/// stamped form. It lives in the community whose station receives it. The server computes
/// each person's months and amount (`lines`) and the totals; the chain's fields
/// ([`WELFARE_SUBSIDY_LIFECYCLE`]) change only by actions.
static WELFARE_SUBSIDY: EntitySpec = EntitySpec {
    entity: Entity::WelfareSubsidy,
    parent: None,
    node: Some(("community_id", OrgKind::Community)),
    append_only: false,
    phone_writable: true,
    fields: &[
        req("community_id", T::Text { max: 64 }, A),
        req("employer_id", T::Ref(Entity::Employer), A),
        req("job", T::Choice(WELFARE_JOBS), L),
        req("placement_ids", T::RefList(Entity::Placement), L),
        f("account", T::AccountNumber, L),
        req("period_from", T::Month, L),
        req("period_to", T::Month, L),
        // The signed and stamped application form (申请表), photographed.
        f("form_sha256", T::Sha256, L),
        f("notes", LONG, L),
        f("state", T::Choice(SUBSIDY_STATES), S),
        f("received_on", T::Date, S),
        f("decided_on", T::Date, S),
        // The server's totals over the persons: the months paid and the amount, fen.
        f("payable_from", T::Month, S),
        f("payable_to", T::Month, S),
        f(
            "months",
            T::Int {
                min: 0,
                max: 120_000,
            },
            S,
        ),
        f(
            "amount_fen",
            T::Int {
                min: 0,
                max: 1_000_000_000_000,
            },
            S,
        ),
        f("stopped_from", T::Month, S),
        f("stop_condition", SHORT, S),
        f("recommended_stop", SHORT, S),
        f("recommended_stop_from", T::Month, S),
        f("recommended_on", T::Date, S),
        f("reason", LONG, S),
        f("history", T::Json { max_bytes: 64_000 }, S),
        // Per person, by the server: [{"placement_id", "person_id", "payable_from",
        // "payable_to", "months", "amount_fen", "stopped_from", "stop_condition",
        // "recommended_stop", "recommended_stop_from"}].
        f("lines", T::Json { max_bytes: 64_000 }, S),
    ],
};

/// A month's verification of a running subsidy for one person (补贴跟踪回访: the guide has
/// the station follow up while it is enjoyed): for a flexible-employment subsidy, whether
/// the flexible work goes on, the insurance is paid, an employer pays it, the income; for
/// a public-welfare job, whether the person is still on it, the wage, the workload, the
/// job as declared. The upkeep reads the latest one for its stop recommendations.
static SUBSIDY_CHECK: EntitySpec = EntitySpec {
    entity: Entity::SubsidyCheck,
    parent: Some(("person_id", Entity::Person)),
    node: None,
    append_only: true,
    phone_writable: true,
    fields: &[
        req("person_id", T::Ref(Entity::Person), A),
        // The subsidy verified: one of the two.
        f("flexible_subsidy_id", T::Ref(Entity::FlexibleSubsidy), A),
        f("welfare_subsidy_id", T::Ref(Entity::WelfareSubsidy), A),
        req("month", T::Month, A),
        req("checked_on", T::Date, A),
        req("with", T::Choice(&["person", "employer", "both"]), A),
        f("still_working", T::Bool, A),
        f("insurance_paid", T::Bool, A),
        f("unit_pays_insurance", T::Bool, A),
        f("monthly_income", WAGE, A),
        f("wage", WAGE, A),
        f("workload_below_standard", T::Bool, A),
        f("job_as_declared", T::Bool, A),
        f("notes", LONG, A),
    ],
};

/// The kinds of public-welfare job (`domain::subsidies::WelfareJob`).
pub const WELFARE_JOBS: &[&str] = &[
    "cleaning",
    "security",
    "greening",
    "parking",
    "square_upkeep",
    "facility_upkeep",
    "public_health",
    "community_culture",
    "health_care",
    "elder_child_care",
    "home_elder_care",
];

/// Where a subsidy application stands (`domain::subsidies::SubsidyState`).
const SUBSIDY_STATES: &[&str] = &[
    "received",
    "station_review",
    "street_review",
    "district_approval",
    "funded",
    "returned",
    "stopped",
];

/// A subsidy application's fields that only its actions change.
pub const SUBSIDY_LIFECYCLE: &[&str] = &[
    "state",
    "received_on",
    "decided_on",
    "payable_from",
    "payable_to",
    "months",
    "amount_fen",
    "stopped_from",
    "stop_condition",
    "recommended_stop",
    "recommended_stop_from",
    "recommended_on",
    "reason",
    "history",
];

/// A public-welfare job subsidy's fields that only its actions change: the flexible
/// subsidy's, and the per-person figures and stops (`lines`).
pub const WELFARE_SUBSIDY_LIFECYCLE: &[&str] = &[
    "state",
    "received_on",
    "decided_on",
    "payable_from",
    "payable_to",
    "months",
    "amount_fen",
    "stopped_from",
    "stop_condition",
    "recommended_stop",
    "recommended_stop_from",
    "recommended_on",
    "reason",
    "history",
    "lines",
];

/// The fields of `entity` that only its actions change (none for most).
pub fn lifecycle_fields(entity: Entity) -> &'static [&'static str] {
    match entity {
        Entity::Recognition => RECOGNITION_LIFECYCLE,
        Entity::FlexibleSubsidy => SUBSIDY_LIFECYCLE,
        Entity::WelfareSubsidy => WELFARE_SUBSIDY_LIFECYCLE,
        _ => &[],
    }
}

/// A recognition's fields that only its actions change (受理→初审→公示→认定): the state
/// machine and its role checks run before these are written, so no edit may set them.
pub const RECOGNITION_LIFECYCLE: &[&str] = &[
    "state",
    "received_on",
    "publicity_started_on",
    "publicity_ends_on",
    "decided_on",
    "reason",
    "history",
];

/// The declared fields of an entity.
pub fn spec(entity: Entity) -> &'static EntitySpec {
    match entity {
        Entity::Household => &HOUSEHOLD,
        Entity::Person => &PERSON,
        Entity::SixClears => &SIX_CLEARS,
        Entity::Visit => &VISIT,
        Entity::Commitment => &COMMITMENT,
        Entity::Evidence => &EVIDENCE,
        Entity::ServiceRecord => &SERVICE_RECORD,
        Entity::Assessment => &ASSESSMENT,
        Entity::Plan => &PLAN,
        Entity::Recognition => &RECOGNITION,
        Entity::Exit => &EXIT,
        Entity::Task => &TASK,
        Entity::Objection => &OBJECTION,
        Entity::Employer => &EMPLOYER,
        Entity::EmployerVisit => &EMPLOYER_VISIT,
        Entity::Vacancy => &VACANCY,
        Entity::Referral => &REFERRAL,
        Entity::Placement => &PLACEMENT,
        Entity::FollowUp => &FOLLOW_UP,
        Entity::FlexibleSubsidy => &FLEXIBLE_SUBSIDY,
        Entity::WelfareSubsidy => &WELFARE_SUBSIDY,
        Entity::SubsidyCheck => &SUBSIDY_CHECK,
    }
}

/// The kind of org node a record of this entity lives in: the node it names, or its
/// parent's (a vacancy lives in its employer's street, a referral in its person's community).
pub fn partition_kind(entity: Entity) -> OrgKind {
    let s = spec(entity);
    match (s.node, s.parent) {
        (Some((_, kind)), _) => kind,
        (None, Some((_, parent))) => partition_kind(parent),
        (None, None) => OrgKind::Community,
    }
}

/// Ranges of one record that must run forward: `(from, to)` field paths per entity.
const RANGES: &[(Entity, &str, &str)] = &[
    (Entity::Visit, "started_at", "ended_at"),
    (
        Entity::Household,
        "zero_employment_found_on",
        "zero_employment_cleared_on",
    ),
    (
        Entity::Recognition,
        "publicity_started_on",
        "publicity_ends_on",
    ),
    (Entity::Vacancy, "open_from", "open_until"),
    (Entity::Placement, "started_on", "ended_on"),
    (Entity::FlexibleSubsidy, "period_from", "period_to"),
    (Entity::FlexibleSubsidy, "paid_from", "paid_to"),
    (Entity::WelfareSubsidy, "period_from", "period_to"),
];

/// Numbers of one record that must not run backwards: `(low, high)` per entity (a wage
/// range, an age range, the places filled of those offered).
const BOUNDS: &[(Entity, &str, &str)] = &[
    (Entity::Vacancy, "wage_min", "wage_max"),
    (Entity::Vacancy, "age_min", "age_max"),
    (Entity::Vacancy, "filled", "count"),
];

/// Rules across the fields of one record, checked on its merged document: every date or
/// time range runs forward (a visit does not end before it starts, a policy is not enjoyed
/// until before it began). Returns `(field path, reason)` for each broken one.
pub fn check_document(entity: Entity, doc: &Value) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    for (e, from, to) in RANGES {
        if *e != entity {
            continue;
        }
        if let (Some(a), Some(b)) = (text(get_path(doc, from)), text(get_path(doc, to))) {
            if backwards(&a, &b) {
                errors.push((to.to_string(), format!("must not be before `{from}`")));
            }
        }
    }
    for (e, low, high) in BOUNDS {
        if *e != entity {
            continue;
        }
        let number = |path| get_path(doc, path).and_then(Value::as_f64);
        if let (Some(a), Some(b)) = (number(low), number(high)) {
            if b < a {
                errors.push((high.to_string(), format!("must not be less than `{low}`")));
            }
        }
    }
    if entity == Entity::SubsidyCheck {
        let named = ["flexible_subsidy_id", "welfare_subsidy_id"]
            .iter()
            .filter(|f| get_path(doc, f).is_some_and(|v| !v.is_null()))
            .count();
        if named != 1 {
            errors.push((
                "flexible_subsidy_id".into(),
                "name one subsidy: flexible_subsidy_id or welfare_subsidy_id".into(),
            ));
        }
    }
    if entity == Entity::SixClears {
        let enjoyed = get_path(doc, "policies.enjoyed").and_then(Value::as_array);
        for (i, item) in enjoyed.into_iter().flatten().enumerate() {
            if let (Some(a), Some(b)) = (text(item.get("from")), text(item.get("to"))) {
                if backwards(&a, &b) {
                    errors.push((
                        format!("policies.enjoyed[{i}].to"),
                        "must not be before `from`".into(),
                    ));
                }
            }
        }
    }
    errors
}

/// Whether `to` comes before `from`; both dates (`YYYY-MM-DD`) or both RFC 3339 times.
/// Values of other shapes are checked by their field types, not here.
fn backwards(from: &str, to: &str) -> bool {
    use chrono::{DateTime, NaiveDate};
    if let (Ok(a), Ok(b)) = (
        NaiveDate::parse_from_str(from, "%Y-%m-%d"),
        NaiveDate::parse_from_str(to, "%Y-%m-%d"),
    ) {
        return b < a;
    }
    if let (Ok(a), Ok(b)) = (
        DateTime::parse_from_rfc3339(from),
        DateTime::parse_from_rfc3339(to),
    ) {
        return b < a;
    }
    false
}

/// Reads a dotted path out of a nested JSON document.
pub fn get_path<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(doc, |v, key| v.get(key))
}

/// Writes a dotted path into a nested JSON document, making objects on the way.
pub fn set_path(doc: &mut Value, path: &str, value: Value) {
    let mut node = doc;
    let mut keys = path.split('.').peekable();
    while let Some(key) = keys.next() {
        if !node.is_object() {
            *node = Value::Object(Default::default());
        }
        let Value::Object(map) = node else { return };
        if keys.peek().is_none() {
            map.insert(key.to_string(), value);
            return;
        }
        node = map
            .entry(key.to_string())
            .or_insert_with(|| Value::Object(Default::default()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ranges_must_run_forward() {
        let cases: &[(Entity, Value, &[&str])] = &[
            (
                Entity::Visit,
                json!({"started_at": "2026-11-02T10:00:00+08:00", "ended_at": "2026-11-02T09:59:00+08:00"}),
                &["ended_at"],
            ),
            (
                Entity::Visit,
                json!({"started_at": "2026-11-02T10:00:00+08:00", "ended_at": "2026-11-02T02:00:00Z"}),
                &[],
            ),
            (
                Entity::Visit,
                json!({"started_at": "2026-11-02T10:00:00+08:00"}),
                &[],
            ),
            (
                Entity::Household,
                json!({"zero_employment_found_on": "2026-11-10", "zero_employment_cleared_on": "2026-11-09"}),
                &["zero_employment_cleared_on"],
            ),
            (
                Entity::Household,
                json!({"zero_employment_found_on": "2026-11-10", "zero_employment_cleared_on": "2026-11-10"}),
                &[],
            ),
            (
                Entity::Vacancy,
                json!({"wage_min": 4000, "wage_max": 3500, "age_min": 30, "age_max": 50,
                       "count": 2, "filled": 3, "open_from": "2026-12-01", "open_until": "2026-11-30"}),
                &["open_until", "wage_max", "count"],
            ),
            (
                Entity::Vacancy,
                json!({"wage_min": 3500, "wage_max": 3500, "age_min": 30, "count": 2, "filled": 2}),
                &[],
            ),
            (
                Entity::SixClears,
                json!({"policies": {"enjoyed": [
                    {"policy": "a", "from": "2026-01-01", "to": "2026-06-30"},
                    {"policy": "b", "from": "2026-07-01", "to": "2026-06-30"}]}}),
                &["policies.enjoyed[1].to"],
            ),
        ];
        for (entity, doc, expected) in cases {
            let fields: Vec<String> = check_document(*entity, doc)
                .into_iter()
                .map(|(f, _)| f)
                .collect();
            assert_eq!(fields, *expected, "{entity} {doc}");
        }
    }

    #[test]
    fn every_entity_has_a_spec_that_names_itself() {
        for e in Entity::ALL {
            assert_eq!(spec(*e).entity, *e);
            assert!(
                spec(*e).parent.is_some() != spec(*e).node.is_some(),
                "{e}: placed by a parent or in a node, one of the two"
            );
            if let Some((field, _)) = spec(*e).node {
                let declared = spec(*e).field(field).expect("node field declared");
                assert!(
                    declared.required && declared.policy == Policy::AppendOnly,
                    "{e}"
                );
            }
            let parent_field = spec(*e).parent.map(|(f, _)| f);
            if let Some(field) = parent_field {
                let declared = spec(*e).field(field).expect("parent field declared");
                assert!(declared.required, "{e}: the parent field is required");
            }
        }
    }

    #[test]
    fn subsidy_word_lists_match_the_domain() {
        use crate::domain::subsidies::{SubsidyState, WelfareJob};
        let jobs: Vec<&str> = WelfareJob::ALL.iter().map(|j| j.as_str()).collect();
        assert_eq!(jobs, WELFARE_JOBS);
        let states: Vec<&str> = SubsidyState::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(states, SUBSIDY_STATES);
    }

    #[test]
    fn employers_and_their_vacancies_live_in_streets_the_rest_in_communities() {
        use crate::org::OrgKind::{Community, Street};
        for (e, kind) in [
            (Entity::Household, Community),
            (Entity::SixClears, Community),
            (Entity::Employer, Street),
            (Entity::EmployerVisit, Street),
            (Entity::Vacancy, Street),
            (Entity::Referral, Community),
            (Entity::Placement, Community),
            (Entity::FollowUp, Community),
            (Entity::WelfareSubsidy, Community),
        ] {
            assert_eq!(partition_kind(e), kind, "{e}");
        }
    }

    #[test]
    fn field_paths_are_unique_and_union_fields_are_sets() {
        for e in Entity::ALL {
            let fields = spec(*e).fields;
            for (i, a) in fields.iter().enumerate() {
                assert!(
                    !fields[i + 1..].iter().any(|b| b.path == a.path),
                    "{e}.{}",
                    a.path
                );
                let is_set = matches!(a.ty, FieldType::Set { .. });
                assert_eq!(
                    is_set,
                    a.policy == Policy::Union || (is_set && a.policy == Policy::StaffLocked),
                    "{e}.{}",
                    a.path
                );
            }
            if spec(*e).append_only {
                assert!(fields.iter().all(|f| f.policy == Policy::AppendOnly), "{e}");
            }
        }
    }

    #[test]
    fn six_clears_has_the_six_sections() {
        let sections: std::collections::BTreeSet<&str> = spec(Entity::SixClears)
            .fields
            .iter()
            .filter_map(|f| f.path.split_once('.').map(|(s, _)| s))
            .collect();
        let expected: std::collections::BTreeSet<&str> = [
            "basic",
            "difficulty",
            "family",
            "needs",
            "insurance",
            "policies",
        ]
        .into();
        assert_eq!(sections, expected);
    }

    #[test]
    fn dotted_paths_read_and_write_nested_documents() {
        let mut doc = json!({});
        set_path(&mut doc, "basic.phone", json!("13800000000"));
        set_path(&mut doc, "basic.health", json!("healthy"));
        set_path(&mut doc, "name", json!("张三"));
        assert_eq!(
            doc,
            json!({"basic": {"phone": "13800000000", "health": "healthy"}, "name": "张三"})
        );
        assert_eq!(get_path(&doc, "basic.phone"), Some(&json!("13800000000")));
        assert_eq!(get_path(&doc, "basic.missing"), None);
    }
}

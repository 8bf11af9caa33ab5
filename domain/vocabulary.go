package domain

// The closed vocabularies of the domain. Each is a string type whose values
// are the snake_case names used in JSON, the API and the CLI.

// FundKind says what a fund is for and which movements may draw on it.
type FundKind string

// The kinds of fund (DOMAIN.md, Funds).
const (
	FundEmploymentSubsidy     FundKind = "employment_subsidy"     // 就业补助资金
	FundGuarantee             FundKind = "guarantee"              // 创业担保基金
	FundBadDebtReserve        FundKind = "bad_debt_reserve"       // 扶贫专项资金 / 创业基金
	FundUnemploymentInsurance FundKind = "unemployment_insurance" // 失业保险基金
)

// FundKinds lists every fund kind.
var FundKinds = []FundKind{FundEmploymentSubsidy, FundGuarantee, FundBadDebtReserve, FundUnemploymentInsurance}

// BeneficiaryKind says whether a beneficiary is a person or an enterprise.
type BeneficiaryKind string

// The kinds of beneficiary.
const (
	Person     BeneficiaryKind = "person"
	Enterprise BeneficiaryKind = "enterprise"
)

// BeneficiaryKinds lists every beneficiary kind.
var BeneficiaryKinds = []BeneficiaryKind{Person, Enterprise}

// Category is a certified status of a person, valid for a period.
type Category string

// The certified categories (DOMAIN.md, People and enterprises).
const (
	PovertyLabour        Category = "poverty_labour"        // 建档立卡贫困劳动力 / 脱贫劳动力
	HardToEmploy         Category = "hard_to_employ"        // 就业困难人员
	RegisteredUnemployed Category = "registered_unemployed" // 登记失业人员
	Graduate             Category = "graduate"              // 高校毕业生
	ReturningMigrant     Category = "returning_migrant"     // 返乡农民工
	Veteran              Category = "veteran"               // 退役军人
	Disabled             Category = "disabled"              // 残疾人
	Relocated            Category = "relocated"             // 易地扶贫搬迁劳动力
)

// Categories lists every category.
var Categories = []Category{PovertyLabour, HardToEmploy, RegisteredUnemployed, Graduate, ReturningMigrant, Veteran, Disabled, Relocated}

// SubsidyType is the kind of subsidy a program pays.
type SubsidyType string

// The subsidy types seen in the seeds.
const (
	OneTimeStartup    SubsidyType = "one_time_startup"    // 一次性创业补贴
	Incubation        SubsidyType = "incubation"          // 创业孵化补贴
	VocationalTrain   SubsidyType = "vocational_training" // 职业培训补贴
	SkillAssessment   SubsidyType = "skill_assessment"    // 职业技能评价补贴
	SocialInsurance   SubsidyType = "social_insurance"    // 社会保险补贴
	PublicWelfarePost SubsidyType = "public_welfare_post" // 公益性岗位补贴
	Internship        SubsidyType = "internship"          // 就业见习补贴
	JobSearch         SubsidyType = "job_search"          // 求职创业补贴
	Transport         SubsidyType = "transport"           // 交通补贴
	JobReferral       SubsidyType = "job_referral"        // 职介补贴
	CommunityFactory  SubsidyType = "community_factory"   // 社区工厂补贴
	StableJobReturn   SubsidyType = "stable_job_return"   // 稳岗返还, paid by the unemployment insurance fund
)

// SubsidyTypes lists every subsidy type.
var SubsidyTypes = []SubsidyType{OneTimeStartup, Incubation, VocationalTrain, SkillAssessment, SocialInsurance,
	PublicWelfarePost, Internship, JobSearch, Transport, JobReferral, CommunityFactory, StableJobReturn}

// fundKindFor says which kind of fund pays a subsidy type.
func fundKindFor(t SubsidyType) FundKind {
	if t == StableJobReturn {
		return FundUnemploymentInsurance
	}
	return FundEmploymentSubsidy
}

// BorrowerKind is who borrows a guaranteed startup loan.
type BorrowerKind string

// The kinds of borrower.
const (
	Individual  BorrowerKind = "individual"
	Partnership BorrowerKind = "partnership"
	SmallFirm   BorrowerKind = "enterprise"
)

// BorrowerKinds lists every borrower kind.
var BorrowerKinds = []BorrowerKind{Individual, Partnership, SmallFirm}

// LoanStatus is where a loan is in its life.
type LoanStatus string

// The loan statuses.
const (
	StatusActive     LoanStatus = "active"
	StatusDefaulted  LoanStatus = "defaulted"
	StatusWrittenOff LoanStatus = "written_off"
	StatusClosed     LoanStatus = "closed"
)

// PlacementKind is the kind of job a placement is.
type PlacementKind string

// The placement kinds.
const (
	UrbanJob         PlacementKind = "urban_job"
	RuralTransfer    PlacementKind = "rural_transfer"
	PublicWelfareJob PlacementKind = "public_welfare_post"
	CommunityFactJob PlacementKind = "community_factory"
	StartupPlacement PlacementKind = "startup"
)

// PlacementKinds lists every placement kind.
var PlacementKinds = []PlacementKind{UrbanJob, RuralTransfer, PublicWelfareJob, CommunityFactJob, StartupPlacement}

// CourseKind is the kind of a training course.
type CourseKind string

// The course kinds.
const (
	Vocational       CourseKind = "vocational"
	Entrepreneurship CourseKind = "entrepreneurship"
)

// CourseKinds lists every course kind.
var CourseKinds = []CourseKind{Vocational, Entrepreneurship}

// Indicator is a figure that targets are set for and progress is measured on.
type Indicator string

// The indicators (API.md).
const (
	NewUrbanJobs               Indicator = "new_urban_jobs"
	ReemployedUnemployed       Indicator = "reemployed_unemployed"
	HardToEmployPlaced         Indicator = "hard_to_employ_placed"
	RuralLabourTransferred     Indicator = "rural_labour_transferred"
	PovertyLabourTransferred   Indicator = "poverty_labour_transferred"
	PublicWelfarePosts         Indicator = "public_welfare_posts"
	CommunityFactoryJobs       Indicator = "community_factory_jobs"
	GraduatesEmployed          Indicator = "graduates_employed"
	StartupsSupported          Indicator = "startups_supported"
	LoansIssuedCount           Indicator = "loans_issued_count"
	LoansIssuedAmount          Indicator = "loans_issued_amount"
	LoansPoorVillagesCount     Indicator = "loans_poor_villages_count"
	LoansPoorVillagesAmount    Indicator = "loans_poor_villages_amount"
	VocationalTrainings        Indicator = "vocational_trainings"
	EntrepreneurshipTrainings  Indicator = "entrepreneurship_trainings"
	SubsidiesPaidAmount        Indicator = "subsidies_paid_amount"
	RegisteredUnemploymentRate Indicator = "registered_unemployment_rate"
)

// Indicators lists every indicator.
var Indicators = []Indicator{NewUrbanJobs, ReemployedUnemployed, HardToEmployPlaced, RuralLabourTransferred,
	PovertyLabourTransferred, PublicWelfarePosts, CommunityFactoryJobs, GraduatesEmployed, StartupsSupported,
	LoansIssuedCount, LoansIssuedAmount, LoansPoorVillagesCount, LoansPoorVillagesAmount, VocationalTrainings,
	EntrepreneurshipTrainings, SubsidiesPaidAmount, RegisteredUnemploymentRate}

// Issuer is the level of government that sets a target.
type Issuer string

// The issuers.
const (
	Province Issuer = "province"
	City     Issuer = "city"
	County   Issuer = "county"
)

// Issuers lists every issuer.
var Issuers = []Issuer{Province, City, County}

// Direction says whether a target is a floor (reach at least) or a ceiling (stay at most).
type Direction string

// The directions.
const (
	Floor   Direction = "floor"
	Ceiling Direction = "ceiling"
)

// Directions lists every direction.
var Directions = []Direction{Floor, Ceiling}

// oneOf refuses a value outside its vocabulary.
func oneOf[T ~string](field string, v T, allowed []T) *Error {
	if v == "" {
		return fail(ErrRequired, field, "")
	}
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fail(ErrUnknownValue, field, "%q", string(v))
}

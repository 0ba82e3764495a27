package whistle

// RiskCountsQuery is the risk judgement's count query, for the plan test.
const RiskCountsQuery = riskCountsQuery

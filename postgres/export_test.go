package postgres

// The lookup thresholds, for the tests of the external test package.
var RareMatches, ConcentratedMatches = &rareMatches, &concentratedMatches

// Package agenttrace holds the domain of agenttrace: accounts, agents, runs,
// steps, keys and prices, their validation, and the application error type.
// It has no dependencies beyond the standard library so that every other
// package (stores, HTTP, ingest, export, eval, MCP) can share it.
package agenttrace

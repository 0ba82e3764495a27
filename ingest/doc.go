// Package ingest brings outside data into the platform and answers outside
// clients in their own formats.
//
// Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) lives here:
// the leaf categories are the services, every clue is a service request,
// and a request an outside client posts becomes a clue of source "app"
// through the whistle intake, so the rules, the placement and the live map
// treat it like any other. Open311 is public read: no reporter's personal
// data ever leaves through it. Posting needs an API key (AddAPIKey); only
// the key's SHA-256 is stored.
//
// Coordinates are WGS-84 both ways (the spec's lat/long); times are
// written in Beijing time with their offset, e.g. 2026-11-25T09:30:00+08:00.
package ingest

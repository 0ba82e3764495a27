// Package geo holds the pure geometry the platform does on orb types:
// datum transforms between WGS-84, GCJ-02 and BD-09, coordinate
// validation, and the local scale used to turn degrees into metres.
//
// Everything here is in lon/lat order (orb.Point is [lon, lat]) and in
// degrees on the datum named by the function; the database keeps WGS-84
// (SRID 4326). geo imports no other package of the project.
package geo

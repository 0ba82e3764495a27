package api

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"whistlegrid/geo"
	"whistlegrid/grid"
)

// geoJSONType is the media type of every GeoJSON answer (RFC 7946 §12).
const geoJSONType = "application/geo+json"

// grids: GET /api/v1/grids?level=township|zone|village|household&parent=CODE&bbox=minLon,minLat,maxLon,maxLat
// -> a GeoJSON FeatureCollection of the grids in the caller's jurisdiction.
func (s *Server) grids(c *gin.Context) {
	f := grid.Filter{Level: c.Query("level"), Parent: c.Query("parent")}
	if f.Level != "" && !grid.ValidLevel(f.Level) {
		s.fail(c, invalidParam("level", "level must be one of district, township, zone, village, household"))
		return
	}
	if b := c.Query("bbox"); b != "" {
		bb, err := parseBBox(b)
		if err != nil {
			s.fail(c, invalidParam("bbox", err.Error()))
			return
		}
		f.BBox = &bb
	}
	fc, err := s.grid.Features(c.Request.Context(), scope(c), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Data(http.StatusOK, geoJSONType, fc)
}

// grid: GET /api/v1/grids/{code}[?at=RFC3339] -> the Feature with the people on duty at that time.
func (s *Server) gridOne(c *gin.Context) {
	var at time.Time
	if a := c.Query("at"); a != "" {
		t, err := geo.ParseTime(a)
		if err != nil {
			s.fail(c, invalidParam("at", "at must be an RFC 3339 time, e.g. 2026-03-03T09:00:00+08:00"))
			return
		}
		at = t
	}
	f, err := s.grid.Feature(c.Request.Context(), scope(c), c.Param("code"), at)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Content-Type", geoJSONType)
	c.JSON(http.StatusOK, f)
}

// parseBBox reads minLon,minLat,maxLon,maxLat in WGS-84.
func parseBBox(s string) ([4]float64, error) {
	var b [4]float64
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return b, fmt.Errorf("bbox must be minLon,minLat,maxLon,maxLat")
	}
	for i, p := range parts {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return b, fmt.Errorf("bbox value %q is not a number", p)
		}
		b[i] = v
	}
	if b[0] < -180 || b[2] > 180 || b[1] < -90 || b[3] > 90 {
		return b, fmt.Errorf("bbox is outside lon -180..180, lat -90..90")
	}
	if b[0] > b[2] || b[1] > b[3] {
		return b, fmt.Errorf("bbox minimum is greater than its maximum")
	}
	return b, nil
}

// units: GET /api/v1/units[?kind=department|station|utility] -> {"units":[...]}
func (s *Server) units(c *gin.Context) {
	us, err := s.grid.Units(c.Request.Context(), c.Query("kind"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"units": us})
}

// categories: GET /api/v1/categories -> {"categories":[{"code","name","children":[...]}]}
func (s *Server) categories(c *gin.Context) {
	cs, err := s.grid.Categories(c.Request.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"categories": cs})
}

// healthz: GET /healthz -> 200 when the database answers, 503 when it does not.
func (s *Server) healthz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := s.grid.Ping(ctx); err != nil {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "database": "down"})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok", "database": "up"})
}

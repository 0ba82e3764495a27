package api

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"whistlegrid/fault"
	"whistlegrid/meeting"
)

// villageMeetings: GET /api/v1/villages/{code}/meetings -> {"meetings":[{"id","held_at","place","host",
// "attendees","matters":[{"n","text","category","clue_id","stage",...}]}]}, newest first.
func (s *Server) villageMeetings(c *gin.Context) {
	out, err := s.meetings.List(c.Request.Context(), scope(c), c.Param("code"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"meetings": out})
}

// postMeeting: POST /api/v1/villages/{code}/meetings {"held_at","place","host","attendees",
// "matters":[{"text","category","lon"?,"lat"?}]} -> 201 {"id","matters":[{"n","clue_id",...}],...};
// each matter a clue of source meeting in the village.
func (s *Server) postMeeting(c *gin.Context) {
	var in meeting.Input
	if err := bindJSON(c, &in, objectShape); err != nil {
		s.fail(c, err)
		return
	}
	m, err := s.meetings.Create(c.Request.Context(), scope(c), c.Param("code"), in)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, m)
}

// patchMatter: PATCH /api/v1/meetings/{id}/matters/{n} {"stage":"discussed","decision"} |
// {"stage":"done","note"|"whistle":true} | {"stage":"judged","verdict","verdict_note"} -> 200 the meeting.
func (s *Server) patchMatter(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	n, nerr := strconv.Atoi(c.Param("n"))
	if err != nil || nerr != nil || id <= 0 || n <= 0 {
		s.fail(c, fault.New(fault.NotFound, "no matter "+c.Param("n")+" of meeting "+c.Param("id")))
		return
	}
	var in meeting.Step
	if err := bindJSON(c, &in, objectShape); err != nil {
		s.fail(c, err)
		return
	}
	m, err := s.meetings.Advance(c.Request.Context(), scope(c), id, n, in)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, m)
}

package api

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"whistlegrid/board"
	"whistlegrid/fault"
)

func boardID(c *gin.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fault.New(fault.NotFound, "no board message "+c.Param("id"))
	}
	return id, nil
}

// boardPost: POST /api/v1/board/messages (public, no token) {"text","category","lon"?,"lat"?,"phone"?}
// -> 201 {"id","status":"pending","receipt"}; over 5 a minute or 50 a day from one address -> 429 with Retry-After.
func (s *Server) boardPost(c *gin.Context) {
	var in board.PostInput
	if err := bindJSON(c, &in, objectShape); err != nil {
		s.fail(c, err)
		return
	}
	out, err := s.board.Post(c.Request.Context(), clientAddr(c), in)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, out)
}

// boardList: GET /api/v1/board/messages?limit=&offset= (public) -> {"messages":[...],"total"}: the accepted
// messages with their status and public reply, no personal data.
func (s *Server) boardList(c *gin.Context) {
	p := params{c: c}
	limit, offset := p.int("limit"), p.int("offset")
	if p.err != nil {
		s.fail(c, p.err)
		return
	}
	out, total, err := s.board.PublicList(c.Request.Context(), limit, offset)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"messages": out, "total": total})
}

// boardReceipt: GET /api/v1/board/receipts/{receipt} (public) -> the writer's own message: status, reason, reply.
func (s *Server) boardReceipt(c *gin.Context) {
	out, err := s.board.Status(c.Request.Context(), c.Param("receipt"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

// boardScreening: GET /api/v1/board/screening?status=&limit=&offset= -> {"messages":[...],"total"}: every message
// for the command center (with the phone), a township's accepted ones (phone masked).
func (s *Server) boardScreening(c *gin.Context) {
	p := params{c: c}
	limit, offset := p.int("limit"), p.int("offset")
	if p.err != nil {
		s.fail(c, p.err)
		return
	}
	out, total, err := s.board.Screening(c.Request.Context(), scope(c), c.Query("status"), limit, offset)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"messages": out, "total": total})
}

// boardAccept: POST /api/v1/board/messages/{id}/accept {"category"?,"lon"?,"lat"?} -> {"clue_id","whistle_id"}:
// the message becomes a clue of source forum (the intake of POST /api/v1/clues).
func (s *Server) boardAccept(c *gin.Context) {
	id, err := boardID(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	var in board.AcceptInput
	if c.Request.ContentLength != 0 {
		if err := bindJSON(c, &in, objectShape); err != nil {
			s.fail(c, err)
			return
		}
	}
	out, err := s.board.Accept(c.Request.Context(), scope(c), id, in, s.whistles)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

// boardReject: POST /api/v1/board/messages/{id}/reject {"reason"} -> 200 {"id","status":"rejected","reason"}.
func (s *Server) boardReject(c *gin.Context) {
	id, err := boardID(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	var in struct {
		Reason string `json:"reason"`
	}
	if err := bindJSON(c, &in, objectShape); err != nil {
		s.fail(c, err)
		return
	}
	if err := s.board.Reject(c.Request.Context(), scope(c), id, in.Reason); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"id": id, "status": "rejected", "reason": in.Reason})
}

// boardReply: POST /api/v1/board/messages/{id}/reply {"reply"} -> 200 {"id","reply"}: the township's public
// reply, once the case is closed.
func (s *Server) boardReply(c *gin.Context) {
	id, err := boardID(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	var in struct {
		Reply string `json:"reply"`
	}
	if err := bindJSON(c, &in, objectShape); err != nil {
		s.fail(c, err)
		return
	}
	if err := s.board.Reply(c.Request.Context(), scope(c), id, in.Reply); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"id": id, "reply": in.Reply})
}

// boardCategories: GET /api/v1/board/categories (public) -> {"categories":[{"code","name","group"}]}: what a message may be about.
func (s *Server) boardCategories(c *gin.Context) {
	out, err := s.board.Categories(c.Request.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"categories": out})
}

package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"whistlegrid/whistle"
)

// riskRules: GET /api/v1/risk-rules -> the risk rules (风险研判) every clue is judged by.
func (s *Server) riskRules(c *gin.Context) {
	r, err := s.whistles.RiskRulesOf(c.Request.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, r)
}

// putRiskRules: PUT /api/v1/risk-rules {"keywords","self_harm","wage_keywords","wage_amount","wage_people",
// "categories","caller_repeats","caller_window_days","place_clues","place_radius_m","place_window_days"}
// -> 200 the rules; the command center only.
func (s *Server) putRiskRules(c *gin.Context) {
	var in whistle.RiskRules
	if err := bindJSON(c, &in, objectShape); err != nil {
		s.fail(c, err)
		return
	}
	r, err := s.whistles.PutRiskRules(c.Request.Context(), scope(c), in)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, r)
}

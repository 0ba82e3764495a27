package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// contactMap: GET /api/v1/villages/{code}/contact-map -> grid.ContactMap:
// {"village":{"code","name","kind","zone_code","zone_name","township_code",
// "township_name","area_km2","geometry"},"at","grids":[{"code","name",
// "party_member_id","households","geometry"}],"households":[{"id",
// "grid_code","address","size","contact_name","contact_phone","masked",
// "party_member_id","lon","lat"}],"party_members":[{"person_id","name",
// "phone","grid_codes","households"}],"cadre","grid_worker","zone_leader",
// "residents_masked","duty_phones_masked"} — the party-member contact map
// (党员联系群众网格图). Residents' names and phones are masked unless the
// caller looks after them (a township, the village's grid worker, a party
// member for their own grid's households); duty phones unless the role
// sees them. A village outside the caller's jurisdiction (a party member's
// is the village of their household grid), or no such village, is 404.
// The answer holds personal data: Cache-Control no-store.
func (s *Server) contactMap(c *gin.Context) {
	cm, err := s.grid.ContactMap(c.Request.Context(), scope(c), c.Param("code"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, cm)
}

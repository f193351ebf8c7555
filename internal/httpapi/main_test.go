package httpapi_test

import (
	"testing"

	"github.com/rdonboard/rdonboard/internal/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

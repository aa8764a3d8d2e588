//go:build tools

// Package tools pins the helm command built for the chart tests.
package tools

import (
	_ "helm.sh/helm/v4/cmd/helm"
)

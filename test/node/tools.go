//go:build tools

// Pins the node binaries the end-to-end tests build from this module.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
)

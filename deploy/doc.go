// Package deploy holds timdesk's deployment files: deploy/cluster.sh and the Temporal config, schema
// and registration scripts it runs, deploy/docker-compose.yml, and the Kubernetes manifests
// (deploy/kustomization.yaml, deploy/k8s/). It has no code of its own: its tests check, without
// Docker or kubectl, that compose and Kubernetes mount the files cluster.sh runs, that both
// programs' probes point at paths they serve, and that every variable a manifest sets is one its
// program reads.
package deploy

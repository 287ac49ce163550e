# GitOps: what ArgoCD syncs (argocd/, apps/, environments/<env>/apps + images), the images'
# Dockerfiles, the CI workflows, and promotion between environments. Tests run in the infra
# environment (pytest, kubernetes-validate, jsonschema, pyyaml) and checkov's; actionlint is a
# Go tool installed at a pinned version on first use (needs `go` on PATH).

ACTIONLINT_VERSION := v1.7.12
ACTIONLINT := .tools/actionlint-$(ACTIONLINT_VERSION)/actionlint
# ENV, OUT, FROM and TO are read only inside these recipes (FROM/TO are also `ingest`'s).
GITOPS_ENV = $(or $(ENV),dev)

.PHONY: manifests promote test-gitops lint-gitops

$(ACTIONLINT):
	GOBIN=$(CURDIR)/$(dir $(ACTIONLINT)) GOFLAGS=-mod=mod go install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)

manifests: $(INFRA_ENV) ## Build what ArgoCD syncs for an environment (ENV=dev|prod; OUT=dir writes files, else stdout)
	$(INFRA_PY) argocd/manifests.py $(GITOPS_ENV) $(if $(OUT),$(abspath $(OUT)))

promote: $(INFRA_ENV) ## Write prod's image references from what dev ran (FROM=dev TO=prod [SUMMARY=file])
	@test -n "$(FROM)" -a -n "$(TO)" || { echo "usage: make promote FROM=dev TO=prod [SUMMARY=file]" >&2; exit 2; }
	$(INFRA_PY) argocd/promote.py promote --from $(FROM) --to $(TO) $(if $(SUMMARY),--summary $(abspath $(SUMMARY)))

# shellcheck/pyflakes integrations are off: make does not install them, and a lint result
# must not depend on what else happens to be on PATH.
lint-gitops: $(INFRA_ENV) $(ACTIONLINT) ## actionlint over .github/workflows, ruff over the GitOps Python
	$(ACTIONLINT) -no-color -shellcheck= -pyflakes=
	infra/.venv/bin/ruff check argocd tests/gitops apps/superset-dashboards
	infra/.venv/bin/ruff format --check argocd tests/gitops apps/superset-dashboards

test-gitops: lint-gitops $(INFRA_ENV) $(CHECKOV_ENV) ## GitOps tests: kustomize builds, schemas + CRDs, checkov (manifests + Dockerfiles), ownership, promotion, workflows
	ACTIONLINT=$(abspath $(ACTIONLINT)) $(INFRA_PY) -m pytest tests/gitops

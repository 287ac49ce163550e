# Platform as code: the Pulumi program (infra/), its offline checks and the policy packs.
# Three environments, each created from its lock on first use:
#   infra/.venv                 the program + pytest, kubernetes-validate, jsonschema, ruff
#   policies/checkov/.venv      checkov (pins packaging<24, which pulumi 3.272 cannot share)
#   policies/crossguard/.venv   pulumi-policy (pins protobuf 5.x; the program runs on protobuf 6)

INFRA_ENV := infra/.venv/.ok
CHECKOV_ENV := policies/checkov/.venv/.ok
CROSSGUARD_ENV := policies/crossguard/.venv/.ok
INFRA_PY := infra/.venv/bin/python
# ENV and OUT are read only inside `render` (OUT is also the simulator's: no global default here).
RENDER_ENV = $(or $(ENV),dev)
RENDER_OUT = $(or $(OUT),rendered/$(RENDER_ENV))

.PHONY: render test-infra lint-infra infra-envs

$(INFRA_ENV): infra/uv.lock infra/pyproject.toml | $(UV)
	$(UV) sync --frozen --project infra --quiet
	@touch $@

$(CHECKOV_ENV): policies/checkov/uv.lock policies/checkov/pyproject.toml | $(UV)
	$(UV) sync --frozen --project policies/checkov --quiet
	@touch $@

$(CROSSGUARD_ENV): policies/crossguard/uv.lock policies/crossguard/pyproject.toml | $(UV)
	$(UV) sync --frozen --project policies/crossguard --quiet
	@touch $@

infra-envs: $(INFRA_ENV) $(CHECKOV_ENV) $(CROSSGUARD_ENV) ## Create the infra, checkov and CrossGuard environments from their locks

render: $(INFRA_ENV) ## Render every object the Pulumi program declares (ENV=dev|prod OUT=dir, default rendered/ENV)
	cd infra && .venv/bin/python -m lakehouse.render --env $(RENDER_ENV) --out $(abspath $(RENDER_OUT))

test-infra: $(INFRA_ENV) $(CHECKOV_ENV) $(CROSSGUARD_ENV) ## Infra tests: Pulumi mocks, manifest schemas + CRDs, checkov, CrossGuard rules
	$(INFRA_PY) -m pytest tests/infra tests/manifests
	policies/crossguard/.venv/bin/python -m pytest policies/crossguard/tests

lint-infra: $(INFRA_ENV) ## ruff over infra/, policies/ and the infra tests
	infra/.venv/bin/ruff check infra policies tests/infra tests/manifests
	infra/.venv/bin/ruff format --check infra policies tests/infra tests/manifests

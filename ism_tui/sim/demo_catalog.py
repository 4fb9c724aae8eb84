"""Static data the scenarios draw from: people, projects, targets, template aliases, wording.

Pure data, no logic: the demo scenario picks from these pools with a seeded RNG, and the scale
scenario precomputes its string pools from them.
"""

from __future__ import annotations

from typing import NamedTuple

# Navigation vocabulary (what Console shows each role).
NAV_MEMBER: tuple[str, ...] = ("Workspaces", "Templates")
NAV_ADMIN: tuple[str, ...] = NAV_MEMBER + ("Account setup", "Members", "Analytics", "Billing")
NAV_OPERATOR: tuple[str, ...] = NAV_ADMIN + ("Customers", "Targets")
NAVIGATION: dict[str, tuple[str, ...]] = {
    "customer_member": NAV_MEMBER,
    "customer_admin": NAV_ADMIN,
    "platform_operator": NAV_OPERATOR,
}

FIRST_NAMES: tuple[str, ...] = (
    "Alice", "Ben", "Chloe", "Daniel", "Elena", "Farid", "Grace", "Hiro", "Isabel", "Jonas",
    "Keiko", "Liam", "Maya", "Noah", "Olivia", "Pavel", "Quinn", "Rosa", "Sanjay", "Tara",
    "Umar", "Vera", "Wen", "Ximena", "Yusuf", "Zoë", "Amara", "Bruno", "Camille", "Dmitri",
    "Esther", "Felix", "Gita", "Hugo", "Ingrid", "Jamal", "Kofi", "Leila", "Mateo", "Nadia",
    "Oskar", "Priya", "Rafael", "Sofia", "Theo", "Ulla", "Viktor", "Wanjiru", "Yara", "José",
    "Aiko", "Björn", "Carmen", "Declan", "Emeka", "Freya", "Gabriel", "Hana", "Ivan", "Júlia",
)
LAST_NAMES: tuple[str, ...] = (
    "Nguyen", "Okafor", "Schmidt", "Haddad", "Kowalski", "Tanaka", "Moreau", "Silva", "Patel",
    "Johansson", "Rossi", "García", "Müller", "O'Brien", "Kim", "Mensah", "Novak", "Larsen",
    "Fischer", "Costa", "Ivanova", "Dubois", "Yilmaz", "Andersen", "Chen", "Reyes", "Walsh",
    "Sato", "Eriksson", "Bianchi", "Adeyemi", "Horvath", "Lindqvist", "Mbeki", "Park", "Santos",
    "Weber", "Ahmed", "Fontaine", "Kaur", "Lopez", "Murphy", "Nakamura", "Petrov", "Quint",
    "Ramos", "Shah", "Torres", "Vogel", "Zhang", "Baker", "Carvalho", "Duarte", "Ekström",
    "Ferreira", "Gallo", "Hoffmann", "Iqbal", "Jansen", "Kruger",
)

# Workspace base names; a suffix from WORKSPACE_SUFFIXES makes most of them personal.
PROJECTS: tuple[str, ...] = (
    "payments-api", "ml-training", "frontend-app", "data-pipeline", "infra-terraform",
    "docs-site", "mobile-backend", "search-indexer", "billing-service", "auth-gateway",
    "etl-nightly", "notebook-sandbox", "recsys-experiments", "inventory-sync", "ci-debug",
    "k8s-operator", "design-system", "chatbot-prototype", "warehouse-dbt", "fraud-model",
    "checkout-web", "route-planner", "telemetry-ingest", "feature-store", "pricing-engine",
    "customer-portal", "report-builder", "image-resizer", "event-bus", "admin-console",
    "forecasting", "geo-tiles", "sensor-replay", "slam-research", "firmware-ci",
    "claims-portal", "patient-records", "scheduling-api", "audio-pipeline", "shader-lab",
    "asset-importer", "contract-review", "load-tests", "graphql-gateway", "vector-search",
    "lab-notebooks", "pdf-extractor", "sales-dashboard", "supply-chain-sim", "web-scraper",
)
WORKSPACE_SUFFIXES: tuple[str, ...] = ("-dev", "-dev", "", "-sandbox", "-v2", "-exp")

# What each demo customer works on (its fleet's workspace names), by customer key.
PROJECTS_BY_CUSTOMER: dict[str, tuple[str, ...]] = {
    "acme": ("robot-sim", "slam-research", "firmware-ci", "sensor-replay", "motion-planner",
             "fleet-telemetry", "gripper-control", "ros2-bridge", "docs-site", "vision-models"),
    "northwind": ("patient-records", "claims-portal", "scheduling-api", "fhir-gateway",
                  "lab-results", "imaging-viewer", "consent-service", "billing-service",
                  "audit-trail"),
    "bluefin_eu": ("assay-pipeline", "protein-folding", "sample-tracker", "sequencing-qc",
                   "ml-training", "vector-search", "data-pipeline", "lims-api"),
    "copperleaf": ("grid-forecast", "meter-ingest", "outage-map", "scada-bridge", "trading-desk",
                   "asset-monitor", "telemetry-ingest", "pricing-engine"),
    "tidewater": ("level-editor", "shader-lab", "asset-importer", "matchmaking-api",
                  "game-server", "audio-pipeline", "leaderboard-service", "build-farm"),
    "lumen": ("design-system", "asset-library", "video-render", "copy-review", "web-portfolio",
              "image-resizer", "cms-backend", "client-previews"),
    "orchard": ("warehouse-dbt", "forecasting", "feature-store", "sales-dashboard",
                "report-builder", "etl-nightly", "churn-model", "notebook-sandbox"),
    "pinecrest": ("video-transcoder", "cms-backend", "recommendations", "ad-server",
                  "subtitle-sync", "podcast-feed", "image-resizer", "newsroom-web"),
    "granite": ("bim-viewer", "site-survey", "load-calculator", "geo-tiles", "permits-portal",
                "cad-converter", "docs-site"),
    "saffron": ("checkout-web", "inventory-sync", "pricing-engine", "search-indexer",
                "customer-portal", "loyalty-api", "payments-api", "store-locator"),
}


class TargetSpec(NamedTuple):
    name: str
    region: str
    state: str
    state_reason: str | None
    state_since_days: float | None
    cost_per_hour: float


DEMO_TARGETS: tuple[TargetSpec, ...] = (
    TargetSpec("eu-west-prod", "eu-west-1", "available", None, None, 0.21),
    TargetSpec("us-east-prod", "us-east-1", "available", None, None, 0.19),
    TargetSpec(
        "us-west-gpu",
        "us-west-2",
        "unavailable",
        "GPU node pool capacity exhausted in us-west-2; provider quota increase requested.",
        2.3,
        2.45,
    ),
    TargetSpec("ap-southeast-prod", "ap-southeast-1", "available", None, None, 0.23),
    TargetSpec(
        "eu-central-dev",
        "eu-central-1",
        "degraded",
        "Image pulls are slow while the registry mirror is rebuilt; starts take ~4 min longer.",
        0.4,
        0.17,
    ),
)


class AliasSpec(NamedTuple):
    alias: str
    template_name: str
    template_version: str
    state: str
    state_reason: str | None
    state_since_days: float | None
    ai: bool  # needs managed-AI credit
    apps: tuple[tuple[str, str, str, str], ...]  # (slug, display name, launch action, path)


_CODE = ("code-server", "VS Code (browser)", "Open in browser", "/")
_TERM = ("terminal", "Terminal", "Open terminal", "/terminal")
_JUPYTER = ("jupyter", "JupyterLab", "Open in browser", "/lab")

DEMO_ALIASES: tuple[AliasSpec, ...] = (
    AliasSpec("python-dev", "python-devcontainer", "v2.4.1", "available", None, None, False,
              (_CODE, _TERM)),
    AliasSpec("node-web", "node-webapp", "v1.9.0", "available", None, None, False,
              (_CODE, _TERM)),
    AliasSpec("go-service", "go-microservice", "v1.2.3", "available", None, None, False,
              (_CODE,)),
    AliasSpec("gpu-pytorch", "cuda-pytorch", "v3.1.0", "available", None, None, False,
              (_JUPYTER, _CODE)),
    AliasSpec("jupyter-ai", "jupyter-managed-ai", "v0.8.2", "available", None, None, True,
              (_JUPYTER,)),
    AliasSpec(
        "java-legacy",
        "java8-maven",
        "v0.9.7",
        "deprecated",
        "Java 8 base image reached end of life; new workspaces must use a supported template.",
        16.0,
        False,
        (_CODE, _TERM),
    ),
)

# The Console's own wording for each create blocker ({} fields are filled per case).
BLOCKER_MESSAGES: dict[str, str] = {
    "billing_approval_missing": (
        "Billing approval for {customer} is {approval}. Workspaces can be created once ISM "
        "billing approves the account."
    ),
    "prepaid_balance_missing": (
        "No prepaid workspace-time balance left for {customer}. Add prepaid hours before "
        "creating a workspace."
    ),
    "ai_credit_missing": (
        'Managed-AI credit for {customer} is used up. Template alias "{alias}" needs managed-AI '
        "credit to start."
    ),
    "target_unavailable": 'Workspace target "{target_name}" is unavailable: {reason}',
    "sso_incomplete": "SSO setup for {customer} is incomplete: {steps}.",
    "template_alias_unavailable": (
        'Template alias "{alias}" is {state} and cannot be used for new workspaces.'
    ),
    "user_provisioning_failed": (
        "Workspace user provisioning failed for {email}: {reason}"
    ),
}

PROVISIONING_FAILURE = (
    "SCIM push to the workspace runtime directory failed (409 Conflict): a user with this "
    "username already exists with a different external id."
)
SSO_MISSING_STEPS: tuple[str, ...] = (
    "Verify the email domain",
    "Map identity-provider groups to Console roles",
)

# ---------------------------------------------------------------- scale scenario pools
COMPANY_PREFIXES: tuple[str, ...] = (
    "Acme", "Northwind", "Bluefin", "Kestrel", "Tidewater", "Lumen", "Harbor", "Orchard",
    "Pinecrest", "Granite", "Saffron", "Copperleaf", "Meridian", "Summit", "Riverstone", "Aurora",
    "Cobalt", "Evergreen", "Falcon", "Juniper", "Lighthouse", "Maple", "Nimbus", "Obsidian",
    "Polaris", "Quarry", "Redwood", "Sequoia", "Tundra", "Vantage",
)
COMPANY_NOUNS: tuple[str, ...] = (
    "Robotics", "Health", "Labs", "Freight", "Games", "Studio", "Legal", "Analytics", "Media",
    "Civil", "Retail", "Energy", "Bank", "Insurance", "Logistics", "Biotech", "Software",
    "Systems", "Foods", "Aerospace",
)
SCALE_REGIONS: tuple[str, ...] = (
    "eu-west-1", "eu-west-2", "eu-central-1", "eu-north-1", "us-east-1", "us-east-2",
    "us-west-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "sa-east-1", "us-west-2",
)
SCALE_EXTRA_ALIASES: tuple[tuple[str, str], ...] = (
    ("rust-dev", "rust-toolchain"), ("rails-app", "ruby-rails"), ("php-laravel", "php-fpm"),
    ("dotnet-api", "dotnet8-sdk"), ("java-17", "java17-gradle"), ("android-kotlin", "android-sdk"),
    ("flutter-mobile", "flutter-sdk"), ("r-studio", "rstudio-server"), ("julia-lab", "julia"),
    ("terraform-ops", "infra-tools"), ("elixir-phoenix", "elixir-otp"), ("spark-scala", "spark"),
    ("cpp-cmake", "cpp-clang"), ("deno-edge", "deno"),
)
INTERNAL_URLS: tuple[str, ...] = (
    "http://10.12.4.7:8080/?folder=/home/coder&token=s3cr3t-session",
    "https://code-server.ws-1.svc.cluster.local/",
    "http://127.0.0.1:8888/lab?token=4f2a9c7e1b0d",
    "http://localhost:13337/",
    "http://192.168.40.12:8443/",
)

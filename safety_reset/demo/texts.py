"""The words of the demo: organisations, teams, system names, people and what they write.

Plain data, kept apart from the story (story.py) and the database writes (services.py).
"""

from __future__ import annotations

COMPANY = "shopco"  # GitHub organisation of the demo repositories
WIKI = "https://wiki.shop.example"
TICKETS = "https://jira.shop.example/browse/CSR-"
INCIDENTS_URL = "https://incidents.shop.example"
GIT_HOST = "git.shop.example"

# (org slug, org name, [(team slug, team name, [system stems])]). A stem is (slug, name).
ORGS: list[tuple[str, str, list[tuple[str, str, list[tuple[str, str]]]]]] = [
    (
        "retail-checkout",
        "Retail Checkout",
        [
            (
                "checkout",
                "Checkout",
                [
                    ("checkout-api", "Checkout API"),
                    ("order-submission", "Order Submission"),
                    ("checkout-web", "Checkout Web"),
                    ("address-book", "Address Book"),
                    ("delivery-options", "Delivery Options"),
                    ("gift-options", "Gift Options"),
                ],
            ),
            (
                "payments",
                "Payments",
                [
                    ("payment-authorization", "Payment Authorization"),
                    ("payment-capture", "Payment Capture"),
                    ("refunds", "Refunds"),
                    ("card-vault", "Card Vault"),
                    ("wallet", "Wallet"),
                    ("payment-methods", "Payment Methods"),
                ],
            ),
            (
                "cart",
                "Cart",
                [
                    ("cart-service", "Cart Service"),
                    ("saved-for-later", "Saved for Later"),
                    ("cart-pricing", "Cart Pricing"),
                    ("mini-cart", "Mini Cart"),
                ],
            ),
            (
                "promotions",
                "Promotions",
                [
                    ("coupon-engine", "Coupon Engine"),
                    ("deals", "Deals"),
                    ("promo-eligibility", "Promotion Eligibility"),
                    ("gift-cards", "Gift Cards"),
                ],
            ),
            (
                "tax-invoicing",
                "Tax & Invoicing",
                [
                    ("tax-calculation", "Tax Calculation"),
                    ("invoice-generator", "Invoice Generator"),
                    ("vat-registry", "VAT Registry"),
                ],
            ),
            (
                "fraud-prevention",
                "Fraud Prevention",
                [
                    ("fraud-scoring", "Fraud Scoring"),
                    ("risk-rules", "Risk Rules"),
                    ("chargeback-disputes", "Chargeback Disputes"),
                    ("device-fingerprint", "Device Fingerprint"),
                ],
            ),
        ],
    ),
    (
        "discovery",
        "Discovery",
        [
            (
                "search",
                "Search",
                [
                    ("search-api", "Search API"),
                    ("search-indexer", "Search Indexer"),
                    ("query-understanding", "Query Understanding"),
                    ("autocomplete", "Autocomplete"),
                    ("search-ranking", "Search Ranking"),
                ],
            ),
            (
                "catalog",
                "Catalog",
                [
                    ("product-catalog", "Product Catalog"),
                    ("offer-listing", "Offer Listing"),
                    ("media-assets", "Media Assets"),
                    ("taxonomy", "Taxonomy"),
                    ("catalog-ingestion", "Catalog Ingestion"),
                ],
            ),
            (
                "recommendations",
                "Recommendations",
                [
                    ("recs-api", "Recommendations API"),
                    ("similar-items", "Similar Items"),
                    ("personalization", "Personalization"),
                    ("recs-training", "Recommendations Training"),
                ],
            ),
            (
                "product-detail",
                "Product Detail",
                [
                    ("product-page", "Product Page"),
                    ("price-display", "Price Display"),
                    ("availability", "Availability"),
                    ("size-guide", "Size Guide"),
                ],
            ),
            (
                "reviews",
                "Reviews & Ratings",
                [
                    ("reviews-api", "Reviews API"),
                    ("review-moderation", "Review Moderation"),
                    ("questions-answers", "Questions & Answers"),
                ],
            ),
            (
                "merchandising",
                "Merchandising",
                [
                    ("homepage", "Homepage"),
                    ("campaign-pages", "Campaign Pages"),
                    ("browse-nodes", "Browse Nodes"),
                    ("banner-service", "Banner Service"),
                ],
            ),
        ],
    ),
    (
        "fulfilment",
        "Fulfilment & Logistics",
        [
            (
                "fulfilment",
                "Fulfilment",
                [
                    ("order-routing", "Order Routing"),
                    ("fulfilment-orchestrator", "Fulfilment Orchestrator"),
                    ("pick-pack", "Pick & Pack"),
                    ("split-shipments", "Split Shipments"),
                ],
            ),
            (
                "inventory",
                "Inventory",
                [
                    ("stock-levels", "Stock Levels"),
                    ("reservations", "Reservations"),
                    ("replenishment", "Replenishment"),
                    ("inventory-sync", "Inventory Sync"),
                ],
            ),
            (
                "shipping",
                "Shipping",
                [
                    ("carrier-gateway", "Carrier Gateway"),
                    ("label-printing", "Label Printing"),
                    ("tracking", "Shipment Tracking"),
                    ("rate-shopping", "Rate Shopping"),
                ],
            ),
            (
                "returns",
                "Returns",
                [
                    ("returns-portal", "Returns Portal"),
                    ("return-authorization", "Return Authorization"),
                    ("refund-trigger", "Refund Trigger"),
                ],
            ),
            (
                "delivery-promise",
                "Delivery Promise",
                [
                    ("delivery-estimates", "Delivery Estimates"),
                    ("cutoff-times", "Cut-off Times"),
                    ("slot-booking", "Slot Booking"),
                ],
            ),
            (
                "warehouse-systems",
                "Warehouse Systems",
                [
                    ("wms-core", "WMS Core"),
                    ("dock-scheduling", "Dock Scheduling"),
                    ("sortation", "Sortation"),
                    ("scanner-gateway", "Scanner Gateway"),
                ],
            ),
        ],
    ),
    (
        "customer",
        "Customer & Identity",
        [
            (
                "identity",
                "Identity",
                [
                    ("auth-service", "Auth Service"),
                    ("session-store", "Session Store"),
                    ("mfa", "Multi-factor Auth"),
                    ("token-issuer", "Token Issuer"),
                    ("sso-gateway", "SSO Gateway"),
                ],
            ),
            (
                "accounts",
                "Accounts",
                [
                    ("customer-profile", "Customer Profile"),
                    ("account-settings", "Account Settings"),
                    ("privacy-requests", "Privacy Requests"),
                    ("order-history", "Order History"),
                ],
            ),
            (
                "customer-service",
                "Customer Service",
                [
                    ("contact-center", "Contact Center"),
                    ("case-management", "Case Management"),
                    ("chat-assist", "Chat Assist"),
                ],
            ),
            (
                "notifications",
                "Notifications",
                [
                    ("email-sender", "Email Sender"),
                    ("push-notifications", "Push Notifications"),
                    ("sms-gateway", "SMS Gateway"),
                    ("preference-center", "Preference Center"),
                ],
            ),
            (
                "loyalty",
                "Loyalty",
                [
                    ("loyalty-points", "Loyalty Points"),
                    ("member-tiers", "Member Tiers"),
                    ("rewards-catalog", "Rewards Catalog"),
                ],
            ),
            (
                "subscriptions",
                "Subscriptions",
                [
                    ("subscribe-save", "Subscribe & Save"),
                    ("membership-billing", "Membership Billing"),
                    ("renewals", "Renewals"),
                ],
            ),
        ],
    ),
    (
        "platform",
        "Platform",
        [
            (
                "deploy-platform",
                "Deploy Platform",
                [
                    ("deploy-pipeline", "Deploy Pipeline"),
                    ("canary-analyzer", "Canary Analyzer"),
                    ("artifact-store", "Artifact Store"),
                    ("release-orchestrator", "Release Orchestrator"),
                ],
            ),
            (
                "edge",
                "Edge & CDN",
                [
                    ("edge-router", "Edge Router"),
                    ("cdn-config", "CDN Config"),
                    ("waf-rules", "WAF Rules"),
                    ("bot-defense", "Bot Defense"),
                ],
            ),
            (
                "data-platform",
                "Data Platform",
                [
                    ("event-bus", "Event Bus"),
                    ("clickstream", "Clickstream"),
                    ("data-lake-ingest", "Data Lake Ingest"),
                    ("feature-store", "Feature Store"),
                ],
            ),
            (
                "observability",
                "Observability",
                [
                    ("metrics-pipeline", "Metrics Pipeline"),
                    ("log-shipper", "Log Shipper"),
                    ("alerting", "Alerting"),
                    ("tracing", "Tracing"),
                ],
            ),
            (
                "developer-tools",
                "Developer Tools",
                [
                    ("ci-runners", "CI Runners"),
                    ("code-review-bot", "Code Review Bot"),
                    ("ai-coding-agent", "AI Coding Agent"),
                    ("feature-flags", "Feature Flags"),
                ],
            ),
            (
                "cloud-infrastructure",
                "Cloud Infrastructure",
                [
                    ("account-vending", "Account Vending"),
                    ("network-core", "Network Core"),
                    ("secrets-manager", "Secrets Manager"),
                    ("environment-provisioner", "Environment Provisioner"),
                ],
            ),
        ],
    ),
]

# Variants that turn a team's few stems into as many systems as a 10,000-system company has.
SYSTEM_VARIANTS: list[tuple[str, str]] = [
    ("", ""),
    ("worker", "Worker"),
    ("admin", "Admin"),
    ("events", "Events"),
    ("store", "Store"),
    ("batch", "Batch"),
    ("gateway", "Gateway"),
    ("reconciler", "Reconciler"),
    ("cache", "Cache"),
    ("migrator", "Migrator"),
    ("reporting", "Reporting"),
    ("scheduler", "Scheduler"),
]
REGIONS: list[tuple[str, str]] = [
    ("", ""),
    ("eu", "EU"),
    ("na", "NA"),
    ("jp", "JP"),
    ("in", "IN"),
    ("br", "BR"),
    ("au", "AU"),
    ("mx", "MX"),
]

# The teams whose systems are the company's spine: more of them are critical.
CORE_TEAMS = {"checkout", "payments", "identity", "edge", "deploy-platform", "cart", "search"}

DESCRIPTIONS = [
    "Serves {name} for every storefront; called on the critical path of the customer journey.",
    "Owns {name}: reads and writes its own store, publishes changes on the event bus.",
    "{name}, a fleet of stateless services behind the regional load balancers.",
    "Runs {name} jobs and feeds downstream systems every few minutes.",
]

FIRST_NAMES = [
    "Aisha", "Alejandro", "Amara", "Ana", "Andrei", "Arjun", "Astrid", "Ben", "Bianca", "Bruno",
    "Carla", "Chen", "Chloe", "Daniel", "Deepa", "Diego", "Elif", "Elena", "Emeka", "Emma",
    "Erik", "Fatima", "Felix", "Freya", "Gabriel", "Grace", "Hana", "Hiroshi", "Ines", "Isaac",
    "Ivan", "Jamal", "Jana", "Javier", "Jin", "Joao", "Julia", "Kai", "Kavya", "Kenji", "Lara",
    "Leon", "Lina", "Lucas", "Mai", "Marta", "Mateo", "Maya", "Mehmet", "Mia", "Nadia", "Nikhil",
    "Nina", "Noah", "Omar", "Oskar", "Paula", "Pedro", "Quinn", "Rahul", "Rania", "Rosa", "Ruth",
    "Sara", "Sebastian", "Sofia", "Sven", "Tariq", "Tessa", "Theo", "Tomas", "Uma", "Valentina",
    "Wei", "Yara", "Yusuf", "Zara", "Zoe",
]  # fmt: skip
LAST_NAMES = [
    "Abe", "Adeyemi", "Almeida", "Andersson", "Banerjee", "Becker", "Bianchi", "Brennan",
    "Castillo", "Chandra", "Costa", "Dubois", "Eriksen", "Fernandes", "Fischer", "Garcia",
    "Gupta", "Haddad", "Hansen", "Hoffmann", "Ibrahim", "Ivanova", "Jensen", "Kaur", "Kim",
    "Kowalski", "Kumar", "Larsen", "Lee", "Lopez", "Marino", "Martin", "Mendes", "Moreau",
    "Mueller", "Nakamura", "Nguyen", "Novak", "Nowak", "Okafor", "Oliveira", "Olsen", "Park",
    "Patel", "Petrov", "Quinn", "Rahman", "Reyes", "Rossi", "Sato", "Schmidt", "Silva", "Singh",
    "Sorensen", "Suzuki", "Tanaka", "Torres", "Tran", "Vargas", "Volkov", "Wagner", "Walsh",
    "Wang", "Weber", "Yilmaz", "Zhang",
]  # fmt: skip
TIME_ZONES = [
    "Europe/London", "Europe/Berlin", "Europe/Dublin", "America/New_York", "America/Los_Angeles",
    "America/Sao_Paulo", "Asia/Kolkata", "Asia/Tokyo", "UTC",
]  # fmt: skip

# --- What people and checks write, per control -----------------------------------------------
# Automated checks: why the check failed ({repo}, {branch}, {pr} are filled in).
AUTOMATED_FAILURES: dict[str, list[str]] = {
    # agent-least-privilege and human-in-the-loop: the register's own verdict (demo/identities.py).
    "two-person-review": [
        "Branch protection on {branch} of {repo} requires 1 approving review; 2 are required.",
        "No branch protection or ruleset on {branch} of {repo}.",
    ],
    "senior-signoff-ai": [
        "AI-assisted pull request #{pr} in {repo} merged without a senior reviewer's approval.",
        "2 AI-assisted pull requests merged in the last 30 days in {repo} without a senior's approval (e.g. #{pr}).",
    ],
    "codeowners": [
        "No CODEOWNERS file on {branch} of {repo}.",
        "CODEOWNERS in {repo} does not cover deploy/ and infra/.",
    ],
    "stale-review-dismissal": [
        "Stale approvals are not dismissed on {branch} of {repo} when new commits are pushed.",
    ],
    "no-admin-bypass": [
        "Administrators can bypass branch protection on {branch} of {repo}.",
        "The ruleset on {branch} of {repo} lists the repository admin role as a bypass actor.",
    ],
    "required-checks": [
        "No required status checks on {branch} of {repo}: merges do not wait for tests.",
        "The required check ci/test on {repo} is not enforced for administrators.",
    ],
}
# Attestation: why a person marked the control failing.
ATTESTED_FAILURES: dict[str, list[str]] = {
    "agent-least-privilege": [
        "The deploy agent role has AdministratorAccess in the production account.",
        "The AI coding agent runs with the on-call engineer's credentials, which can delete stacks.",
        "The CI role can call DeleteStack and DeleteDBCluster in production.",
    ],
    "prod-deletion-protection": [
        "Deletion protection is off on the production database cluster.",
        "The production CloudFormation stacks have no termination protection.",
        "Three production buckets have no object lock and no deletion guard.",
    ],
    "staged-deploys": [
        "Deployments go to all regions at once; there is no canary stage.",
        "The canary stage exists but no alarm triggers an automatic rollback.",
        "Configuration changes bypass the pipeline and are pushed to every host directly.",
    ],
    "blast-radius-containment": [
        "Single global deployment: one bad release takes every region down.",
        "No cell or shard boundaries; the architecture document is out of date.",
    ],
    "human-in-the-loop": [
        "The cleanup job can drop production tables with no approval step.",
        "Agents can apply production-wide config changes without a named approver.",
    ],
    "runbooks-oncall": [
        "The runbook was last updated 14 months ago and has no rollback section.",
        "The escalation policy still names two people who left the team.",
    ],
    "incident-followup": [
        "Two actions from the post-incident review are still open without a due date.",
        "The post-incident review was never published.",
    ],
}
NOT_APPLICABLE: dict[str, list[str]] = {
    "prod-deletion-protection": [
        "Stateless service: no databases, tables or buckets of its own.",
    ],
    "staged-deploys": [
        "Batch job run from the data platform's scheduler; it has no deployment of its own.",
    ],
    "blast-radius-containment": [
        "Internal tool used by one team; no customer traffic reaches it.",
    ],
    "human-in-the-loop": [
        "No tool or agent can take destructive actions on this system.",
    ],
    "incident-followup": [
        "No AI-related incident touched this system in the last twelve months.",
        "No incident involving an AI-assisted change or an agent in the last year.",
    ],
}
# Attestation evidence: (kind, text) where kind is "link" (a URL template) or "note".
ATTESTED_EVIDENCE: dict[str, list[tuple[str, str]]] = {
    "agent-least-privilege": [
        ("link", "https://iam.shop.example/roles/{slug}-deploy-agent"),
        (
            "note",
            "Deploy and agent roles reviewed with the IAM policy simulator: no Delete* or "
            "*:Recreate actions on production.",
        ),
    ],
    "prod-deletion-protection": [
        ("link", "https://github.com/" + COMPANY + "/{slug}-infra/blob/main/prod/main.tf"),
        (
            "note",
            "deletion_protection = true on the database cluster; termination protection on both "
            "production stacks.",
        ),
    ],
    "staged-deploys": [
        ("link", "https://deploy.shop.example/pipelines/{slug}"),
        ("note", "One-box, 10% canary, then 3 regional waves; automatic rollback on 5xx and p99."),
    ],
    "blast-radius-containment": [
        ("link", WIKI + "/architecture/{slug}#cells"),
        ("note", "12 cells per region; one failed cell affects at most 8% of customers."),
    ],
    "human-in-the-loop": [
        ("link", "https://deploy.shop.example/pipelines/{slug}/gates"),
        ("note", "Destructive runbook steps need a second named approver in the change ticket."),
    ],
    "runbooks-oncall": [
        ("link", "https://runbooks.shop.example/{slug}"),
        ("note", "Rotation {slug}-primary reviewed; escalation policy names the current managers."),
    ],
    "incident-followup": [
        ("link", INCIDENTS_URL + "/reviews?system={slug}"),
        ("note", "All post-incident actions are tracked as tasks with owners and due dates."),
    ],
}
# Remediation task titles ({repo}, {branch}, {name} are filled in).
TASK_TITLES: dict[str, str] = {
    "two-person-review": "Require 2 approving reviews on {branch} of {repo}",
    "senior-signoff-ai": "Get a senior reviewer's approval on AI-assisted PRs in {repo}",
    "codeowners": "Add a CODEOWNERS file covering all of {repo}",
    "stale-review-dismissal": "Dismiss stale approvals on new pushes in {repo}",
    "no-admin-bypass": "Remove the admin bypass from {branch} protection in {repo}",
    "required-checks": "Make ci/test a required check on {branch} of {repo}",
    "agent-least-privilege": "Scope the deploy and agent roles of {name} to least privilege",
    "prod-deletion-protection": "Turn on deletion protection for {name} production resources",
    "staged-deploys": "Add a canary stage with automatic rollback to the {name} pipeline",
    "blast-radius-containment": "Document and enforce cell boundaries for {name}",
    "human-in-the-loop": "Add a named-approver gate to destructive {name} operations",
    "runbooks-oncall": "Refresh the {name} runbook and escalation policy",
    "incident-followup": "Close the open post-incident actions for {name}",
}
WAIVER_JUSTIFICATIONS = [
    "The fix needs the platform migration planned for next quarter.",
    "The vendor SDK we depend on cannot run under the restricted role yet; fix promised in its next release.",
    "The system is being decommissioned; traffic moves to its successor within two months.",
    "The change needs a maintenance window agreed with the payment processor.",
]
COMPENSATING_CONTROLS = [
    "Every production change is reviewed by two people in the change ticket until the fix lands.",
    "A nightly job verifies the settings and pages the on-call engineer on any drift.",
    "Deploys are frozen outside business hours and need the manager's approval.",
    "The on-call engineer watches every deploy live and rolls back by hand.",
]
REJECTION_NOTES = [
    "The compensating control does not cover agent actions; fix it instead.",
    "Too long: come back with a plan that fits the remediation phase.",
]
REQUEST_EVIDENCE_NOTES = [
    "The link shows the staging pipeline; please attach production.",
    "Please attach the policy itself, not a summary.",
]
PR_TITLES = [
    "Bump dependencies",
    "Fix retry budget on downstream timeouts",
    "Add metrics for cache hit ratio",
    "Refactor request validation",
    "Handle empty responses from the pricing service",
    "Remove dead feature flag",
    "Tune connection pool size",
    "Add idempotency key to write path",
    "Migrate config to the new schema",
    "Log correlation id on errors",
    "Speed up cold start",
    "Clean up deprecated endpoints",
]
AI_SIGNALS = [
    ["label:ai-assisted"],
    ["trailer:AI-Assisted: true"],
    ["label:ai-assisted", "trailer:Co-authored-by: coding-agent"],
]
REPO_SYNC_ERRORS = {
    "github": "403 Resource not accessible by integration: the app is not installed on this repository.",
    "git": "fatal: Could not read from remote repository (Host key verification failed).",
}

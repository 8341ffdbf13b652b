"""initial schema: organisations, firm attributes, aliases, documents, errors, events,
mentions, taxonomies, network snapshots and pipeline runs (see db/models.py).

Revision ID: 0001
Revises:
Create Date: 2026-11-26 19:26:44.749000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "application_domains",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_application_domains")),
        sa.UniqueConstraint("name", name=op.f("uq_application_domains_name")),
    )
    op.create_table(
        "industry_sections",
        sa.Column("code", sa.String(length=1), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_industry_sections")),
    )
    op.create_table(
        "pipeline_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flow", sa.String(length=64), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("prefect_flow_run_id", sa.String(length=64), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_runs")),
    )
    with op.batch_alter_table("pipeline_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pipeline_runs_flow"), ["flow"], unique=False)

    op.create_table(
        "provinces",
        sa.Column("code", sa.String(length=2), nullable=False),
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("short_name", sa.String(length=8), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_provinces")),
        sa.UniqueConstraint("name", name=op.f("uq_provinces_name")),
        sa.UniqueConstraint("short_name", name=op.f("uq_provinces_short_name")),
    )
    op.create_table(
        "regions",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_regions")),
        sa.UniqueConstraint("name", name=op.f("uq_regions_name")),
    )
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("publisher", sa.String(length=255), nullable=True),
        sa.Column("base_url", sa.String(length=1024), nullable=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sources")),
        sa.UniqueConstraint("name", name=op.f("uq_sources_name")),
    )
    op.create_table(
        "tech_categories",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_tech_categories")),
        sa.UniqueConstraint("name", name=op.f("uq_tech_categories_name")),
    )
    op.create_table(
        "cities",
        sa.Column("code", sa.String(length=6), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["province_code"], ["provinces.code"], name=op.f("fk_cities_province_code_provinces")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_cities")),
        sa.UniqueConstraint("province_code", "name", name=op.f("uq_cities_province_code_name")),
    )
    with op.batch_alter_table("cities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cities_province_code"), ["province_code"], unique=False)

    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("canonical_url", sa.String(length=2048), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("encoding", sa.String(length=32), nullable=True),
        sa.Column("raw_gz", sa.LargeBinary(), nullable=True),
        sa.Column("raw_path", sa.String(length=1024), nullable=True),
        sa.Column("extracted_sha256", sa.String(length=64), nullable=True),
        sa.Column("extractor_version", sa.String(length=32), nullable=True),
        sa.Column("extracted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], name=op.f("fk_documents_source_id_sources")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint("canonical_url", name=op.f("uq_documents_canonical_url")),
    )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_documents_source_id"), ["source_id"], unique=False)

    op.create_table(
        "industry_divisions",
        sa.Column("code", sa.String(length=2), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("section_code", sa.String(length=1), nullable=False),
        sa.Column("sector", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["section_code"],
            ["industry_sections.code"],
            name=op.f("fk_industry_divisions_section_code_industry_sections"),
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_industry_divisions")),
    )
    with op.batch_alter_table("industry_divisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_industry_divisions_section_code"), ["section_code"], unique=False
        )

    op.create_table(
        "network_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("edition", sa.Integer(), nullable=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("window_years", sa.Integer(), nullable=True),
        sa.Column("data_version", sa.String(length=64), nullable=False),
        sa.Column("sample_nodes", sa.Integer(), nullable=False),
        sa.Column("relation_nodes", sa.Integer(), nullable=False),
        sa.Column("nodes", sa.Integer(), nullable=False),
        sa.Column("edges", sa.Integer(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["pipeline_runs.id"],
            name=op.f("fk_network_snapshots_run_id_pipeline_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_snapshots")),
        sa.UniqueConstraint(
            "year",
            "window_years",
            "data_version",
            name=op.f("uq_network_snapshots_year_window_years_data_version"),
        ),
    )
    op.create_table(
        "pipeline_errors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("location", sa.String(length=2048), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["pipeline_runs.id"],
            name=op.f("fk_pipeline_errors_run_id_pipeline_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_errors")),
    )
    with op.batch_alter_table("pipeline_errors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pipeline_errors_stage"), ["stage"], unique=False)

    op.create_table(
        "region_provinces",
        sa.Column("region_code", sa.String(length=16), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["province_code"], ["provinces.code"], name=op.f("fk_region_provinces_province_code_provinces")
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_region_provinces_region_code_regions")
        ),
        sa.PrimaryKeyConstraint("region_code", "province_code", name=op.f("pk_region_provinces")),
    )
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("is_sample", sa.Boolean(), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=True),
        sa.Column("city_code", sa.String(length=6), nullable=True),
        sa.Column("industry_section", sa.String(length=1), nullable=True),
        sa.Column("industry_division", sa.String(length=2), nullable=True),
        sa.Column("uscc", sa.String(length=18), nullable=True),
        sa.Column("stock_code", sa.String(length=16), nullable=True),
        sa.Column("stock_exchange", sa.String(length=8), nullable=True),
        sa.Column("origin", sa.String(length=24), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('firm', 'foreign_firm', 'university', 'research_institute', 'industry_body', 'government', 'hospital', 'bank', 'telecom', 'other')",
            name=op.f("ck_organisations_kind"),
        ),
        sa.CheckConstraint(
            "stock_exchange IS NULL OR stock_exchange IN ('SSE', 'SZSE', 'BSE', 'HKEX', 'NASDAQ', 'NYSE', 'OTHER')",
            name=op.f("ck_organisations_stock_exchange"),
        ),
        sa.ForeignKeyConstraint(
            ["city_code"], ["cities.code"], name=op.f("fk_organisations_city_code_cities")
        ),
        sa.ForeignKeyConstraint(
            ["industry_division"],
            ["industry_divisions.code"],
            name=op.f("fk_organisations_industry_division_industry_divisions"),
        ),
        sa.ForeignKeyConstraint(
            ["industry_section"],
            ["industry_sections.code"],
            name=op.f("fk_organisations_industry_section_industry_sections"),
        ),
        sa.ForeignKeyConstraint(
            ["province_code"], ["provinces.code"], name=op.f("fk_organisations_province_code_provinces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint(
            "stock_exchange", "stock_code", name=op.f("uq_organisations_stock_exchange_stock_code")
        ),
        sa.UniqueConstraint("uscc", name=op.f("uq_organisations_uscc")),
    )
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_organisations_is_sample"), ["is_sample"], unique=False)
        batch_op.create_index(batch_op.f("ix_organisations_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_organisations_province_code"), ["province_code"], unique=False)

    op.create_table(
        "aliases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.CheckConstraint(
            "kind IN ('full', 'short', 'former', 'english', 'stock_short')", name=op.f("ck_aliases_kind")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_aliases_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aliases")),
        sa.UniqueConstraint(
            "organisation_id", "name", "kind", name=op.f("uq_aliases_organisation_id_name_kind")
        ),
    )
    with op.batch_alter_table("aliases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_aliases_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_aliases_organisation_id"), ["organisation_id"], unique=False)

    op.create_table(
        "cooperation_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_key", sa.String(length=64), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("receiver_id", sa.Integer(), nullable=False),
        sa.Column("reported_by_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=True),
        sa.Column("terminated_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "direction IN ('directed', 'mutual')", name=op.f("ck_cooperation_events_direction")
        ),
        sa.CheckConstraint("status IN ('active', 'terminated')", name=op.f("ck_cooperation_events_status")),
        sa.CheckConstraint("provider_id <> receiver_id", name=op.f("ck_cooperation_events_no_self_loop")),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["organisations.id"],
            name=op.f("fk_cooperation_events_provider_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["receiver_id"],
            ["organisations.id"],
            name=op.f("fk_cooperation_events_receiver_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["reported_by_id"],
            ["organisations.id"],
            name=op.f("fk_cooperation_events_reported_by_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cooperation_events")),
        sa.UniqueConstraint("event_key", name=op.f("uq_cooperation_events_event_key")),
    )
    with op.batch_alter_table("cooperation_events", schema=None) as batch_op:
        batch_op.create_index("ix_cooperation_events_pair", ["provider_id", "receiver_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cooperation_events_provider_id"), ["provider_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cooperation_events_receiver_id"), ["receiver_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cooperation_events_year"), ["year"], unique=False)

    op.create_table(
        "firm_attributes",
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("founded_on", sa.Date(), nullable=True),
        sa.Column("employees", sa.Integer(), nullable=True),
        sa.Column("listed", sa.Boolean(), nullable=False),
        sa.Column("tech_layer", sa.String(length=8), nullable=True),
        sa.Column("patents", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "tech_layer IS NULL OR tech_layer IN ('基础层', '技术层', '应用层')",
            name=op.f("ck_firm_attributes_tech_layer"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_firm_attributes_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organisation_id", name=op.f("pk_firm_attributes")),
    )
    op.create_table(
        "firm_financials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("revenue_cny", sa.Numeric(precision=20, scale=2), nullable=True),
        sa.Column("rd_expense_cny", sa.Numeric(precision=20, scale=2), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_firm_financials_document_id_documents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_firm_financials_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_firm_financials")),
        sa.UniqueConstraint(
            "organisation_id", "fiscal_year", name=op.f("uq_firm_financials_organisation_id_fiscal_year")
        ),
    )
    op.create_table(
        "event_application_domains",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("domain_code", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["domain_code"],
            ["application_domains.code"],
            name=op.f("fk_event_application_domains_domain_code_application_domains"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["cooperation_events.id"],
            name=op.f("fk_event_application_domains_event_id_cooperation_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("event_id", "domain_code", name=op.f("pk_event_application_domains")),
    )
    op.create_table(
        "event_tech_categories",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("category_code", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_code"],
            ["tech_categories.code"],
            name=op.f("fk_event_tech_categories_category_code_tech_categories"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["cooperation_events.id"],
            name=op.f("fk_event_tech_categories_event_id_cooperation_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("event_id", "category_code", name=op.f("pk_event_tech_categories")),
    )
    op.create_table(
        "mentions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("extractor_version", sa.String(length=32), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("sentence", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_mentions_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["cooperation_events.id"],
            name=op.f("fk_mentions_event_id_cooperation_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mentions")),
        sa.UniqueConstraint("event_id", "document_id", name=op.f("uq_mentions_event_id_document_id")),
    )
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mentions_document_id"), ["document_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_mentions_event_id"), ["event_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mentions_event_id"))
        batch_op.drop_index(batch_op.f("ix_mentions_document_id"))

    op.drop_table("mentions")
    op.drop_table("event_tech_categories")
    op.drop_table("event_application_domains")
    op.drop_table("firm_financials")
    op.drop_table("firm_attributes")
    with op.batch_alter_table("cooperation_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cooperation_events_year"))
        batch_op.drop_index(batch_op.f("ix_cooperation_events_receiver_id"))
        batch_op.drop_index(batch_op.f("ix_cooperation_events_provider_id"))
        batch_op.drop_index("ix_cooperation_events_pair")

    op.drop_table("cooperation_events")
    with op.batch_alter_table("aliases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_aliases_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_aliases_name"))

    op.drop_table("aliases")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organisations_province_code"))
        batch_op.drop_index(batch_op.f("ix_organisations_name"))
        batch_op.drop_index(batch_op.f("ix_organisations_is_sample"))

    op.drop_table("organisations")
    op.drop_table("region_provinces")
    with op.batch_alter_table("pipeline_errors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pipeline_errors_stage"))

    op.drop_table("pipeline_errors")
    op.drop_table("network_snapshots")
    with op.batch_alter_table("industry_divisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_industry_divisions_section_code"))

    op.drop_table("industry_divisions")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_documents_source_id"))

    op.drop_table("documents")
    with op.batch_alter_table("cities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cities_province_code"))

    op.drop_table("cities")
    op.drop_table("tech_categories")
    op.drop_table("sources")
    op.drop_table("regions")
    op.drop_table("provinces")
    with op.batch_alter_table("pipeline_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pipeline_runs_flow"))

    op.drop_table("pipeline_runs")
    op.drop_table("industry_sections")
    op.drop_table("application_domains")

"""Bringing a database to a usable state: schema, reference data, pathways."""
from __future__ import annotations

from pathlib import Path

from engine import categories
from engine.db import Database
from engine.definitions.storage import DeployResult
from engine.reference_data import load_provinces
from engine.runtime import SYSTEM, Engine

BPMN_FOLDER = Path(__file__).resolve().parent.parent / "bpmn"


def prepare(engine: Engine, bpmn_folder: Path = BPMN_FOLDER) -> list[DeployResult]:
    """Migrate, load the province list and the shipped case categories (never overwriting an
    administrator's changes), deploy the shipped pathways (idempotent)."""
    database: Database = engine.db
    database.upgrade()
    with database.transaction() as session:
        load_provinces(session)
        categories.load_defaults(session, engine.now())
    return engine.deploy_folder(bpmn_folder, SYSTEM)

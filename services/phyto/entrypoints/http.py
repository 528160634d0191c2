"""The phyto service's HTTP face: operations endpoints around its consumer."""

from fastapi import FastAPI

from services.contract.serve import consumer_app
from services.phyto.bootstrap import Phyto


def create_app(phyto: Phyto) -> FastAPI:
    return consumer_app("Single Window plant health", phyto.runtime, phyto.settings.ops_token_file)

"""The customs service's HTTP face: operations endpoints around its consumer."""

from fastapi import FastAPI

from services.contract.serve import consumer_app
from services.customs.bootstrap import Customs


def create_app(customs: Customs) -> FastAPI:
    return consumer_app("Single Window customs", customs.runtime, customs.settings.ops_token_file)

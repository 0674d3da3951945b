"""The API's controllers: thin translations between HTTP and the hub's core."""

from hub.http.controllers.children import ChildrenController
from hub.http.controllers.consents import ConsentController
from hub.http.controllers.deliveries import DeliveriesController
from hub.http.controllers.directory import DirectoryController
from hub.http.controllers.documents import DocumentsController
from hub.http.controllers.fhir import FhirController
from hub.http.controllers.figures import FiguresController
from hub.http.controllers.imports import ImportsController
from hub.http.controllers.oversight import OversightController
from hub.http.controllers.process import SupportProcessController
from hub.http.controllers.transparency import TransparencyController

API_CONTROLLERS = [ChildrenController, SupportProcessController, ConsentController, OversightController, TransparencyController,
                   FiguresController, DocumentsController, ImportsController, FhirController, DirectoryController, DeliveriesController]

__all__ = ["API_CONTROLLERS"]

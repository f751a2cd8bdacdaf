"""MLflow's model registry API (registered models, versions, stages, aliases) over
`kg.lifecycle.Registry`.

As in `resolvers.mlflow_api.tracking`: MLflow's request message in, one call to the core in a
worker thread, MLflow's response message out. Paths and methods are those MLflow's client
calls (`mlflow.store.model_registry.rest_store`): reads are GETs with query parameters, a few
writes are PATCH or DELETE with a JSON body.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from mlflow.protos.model_registry_pb2 import (
    CreateModelVersion,
    CreateRegisteredModel,
    DeleteModelVersion,
    DeleteModelVersionTag,
    DeleteRegisteredModel,
    DeleteRegisteredModelAlias,
    DeleteRegisteredModelTag,
    GetLatestVersions,
    GetModelVersion,
    GetModelVersionByAlias,
    GetModelVersionDownloadUri,
    GetRegisteredModel,
    RenameRegisteredModel,
    SearchModelVersions,
    SearchRegisteredModels,
    SetModelVersionTag,
    SetRegisteredModelAlias,
    SetRegisteredModelTag,
    TransitionModelVersionStage,
    UpdateModelVersion,
    UpdateRegisteredModel,
)
from mlflow.store.model_registry import (
    SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
    SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD,
    SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
    SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD,
)

from kg.lifecycle.registry import Registry
from resolvers.mlflow_api import entities
from resolvers.mlflow_api.messages import WRITE, MlflowRoute, answer, page_size, read, require
from resolvers.services import services
from resolvers.threads import run_in_worker

__all__ = ["router"]

router = APIRouter(route_class=MlflowRoute, tags=["mlflow"])


def _registry(request: Request) -> Registry:
    return Registry(services(request).store)


# -- registered models -------------------------------------------------------------------------
@router.post("/registered-models/create", dependencies=WRITE)
async def create_registered_model(request: Request) -> Response:
    """Create an empty registered model (its name must be free), with its tags."""
    message = await read(request, CreateRegisteredModel())
    require(message, "name")
    model = await run_in_worker(
        _registry(request).create_registered_model,
        message.name,
        description=message.description,
        tags={tag.key: tag.value for tag in message.tags},
    )
    return answer(CreateRegisteredModel.Response(registered_model=entities.registered_model(model)))


@router.get("/registered-models/get")
async def get_registered_model(request: Request) -> Response:
    """One registered model with its latest version of each stage and its aliases."""
    message = await read(request, GetRegisteredModel())
    require(message, "name")
    model = await run_in_worker(_registry(request).get_registered_model, message.name)
    return answer(GetRegisteredModel.Response(registered_model=entities.registered_model(model)))


@router.get("/registered-models/search")
async def search_registered_models(request: Request) -> Response:
    """Registered models matching MLflow's filter grammar, a page at a time."""
    message = await read(request, SearchRegisteredModels())
    page = await run_in_worker(
        _registry(request).search_registered_models,
        message.filter or None,
        max_results=page_size(
            message,
            default=SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
            limit=SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD,
        ),
        order_by=list(message.order_by),
        page_token=message.page_token or None,
    )
    response = SearchRegisteredModels.Response(
        registered_models=[entities.registered_model(m) for m in page.items]
    )
    if page.next_token:
        response.next_page_token = page.next_token
    return answer(response)


@router.patch("/registered-models/update", dependencies=WRITE)
async def update_registered_model(request: Request) -> Response:
    """Change a registered model's description."""
    message = await read(request, UpdateRegisteredModel())
    require(message, "name")
    model = await run_in_worker(
        _registry(request).update_registered_model, message.name, description=message.description
    )
    return answer(UpdateRegisteredModel.Response(registered_model=entities.registered_model(model)))


@router.post("/registered-models/rename", dependencies=WRITE)
async def rename_registered_model(request: Request) -> Response:
    """Rename a registered model (the new name must be free)."""
    message = await read(request, RenameRegisteredModel())
    require(message, "name", "new_name")
    model = await run_in_worker(
        _registry(request).rename_registered_model, message.name, message.new_name
    )
    return answer(RenameRegisteredModel.Response(registered_model=entities.registered_model(model)))


@router.delete("/registered-models/delete", dependencies=WRITE)
async def delete_registered_model(request: Request) -> Response:
    """Remove a registered model with its versions and aliases."""
    message = await read(request, DeleteRegisteredModel())
    require(message, "name")
    await run_in_worker(_registry(request).delete_registered_model, message.name)
    return answer(DeleteRegisteredModel.Response())


@router.post("/registered-models/set-tag", dependencies=WRITE)
async def set_registered_model_tag(request: Request) -> Response:
    """Set (or change) one tag of a registered model."""
    message = await read(request, SetRegisteredModelTag())
    require(message, "name", "key")
    await run_in_worker(
        _registry(request).set_registered_model_tag, message.name, message.key, message.value
    )
    return answer(SetRegisteredModelTag.Response())


@router.delete("/registered-models/delete-tag", dependencies=WRITE)
async def delete_registered_model_tag(request: Request) -> Response:
    """Remove one tag of a registered model."""
    message = await read(request, DeleteRegisteredModelTag())
    require(message, "name", "key")
    await run_in_worker(_registry(request).delete_registered_model_tag, message.name, message.key)
    return answer(DeleteRegisteredModelTag.Response())


async def _latest_versions(request: Request) -> Response:
    message = await read(request, GetLatestVersions())
    require(message, "name")
    versions = await run_in_worker(
        _registry(request).get_latest_versions, message.name, list(message.stages)
    )
    return answer(
        GetLatestVersions.Response(model_versions=[entities.model_version(v) for v in versions])
    )


@router.post("/registered-models/get-latest-versions")
async def get_latest_versions(request: Request) -> Response:
    """The latest version in each stage (or in the stages named)."""
    return await _latest_versions(request)


@router.get("/registered-models/get-latest-versions")
async def get_latest_versions_by_get(request: Request) -> Response:
    """The same, as a GET (MLflow's client tries the POST first, then this)."""
    return await _latest_versions(request)


# -- aliases -----------------------------------------------------------------------------------
@router.post("/registered-models/alias", dependencies=WRITE)
async def set_alias(request: Request) -> Response:
    """Point an alias (`champion`) at a version, moving it from wherever it pointed."""
    message = await read(request, SetRegisteredModelAlias())
    require(message, "name", "alias", "version")
    await run_in_worker(_registry(request).set_alias, message.name, message.alias, message.version)
    return answer(SetRegisteredModelAlias.Response())


@router.delete("/registered-models/alias", dependencies=WRITE)
async def delete_alias(request: Request) -> Response:
    """Remove an alias."""
    message = await read(request, DeleteRegisteredModelAlias())
    require(message, "name", "alias")
    await run_in_worker(_registry(request).delete_alias, message.name, message.alias)
    return answer(DeleteRegisteredModelAlias.Response())


@router.get("/registered-models/alias")
async def get_version_by_alias(request: Request) -> Response:
    """The version an alias points at."""
    message = await read(request, GetModelVersionByAlias())
    require(message, "name", "alias")
    version = await run_in_worker(
        _registry(request).get_version_by_alias, message.name, message.alias
    )
    return answer(GetModelVersionByAlias.Response(model_version=entities.model_version(version)))


# -- model versions ----------------------------------------------------------------------------
@router.post("/model-versions/create", dependencies=WRITE)
async def create_model_version(request: Request) -> Response:
    """Register a new version (numbered one past the last), generated by `run_id` when given;
    it is READY at once."""
    message = await read(request, CreateModelVersion())
    require(message, "name", "source")
    version = await run_in_worker(
        _registry(request).create_model_version,
        message.name,
        message.source,
        run_id=message.run_id or None,
        description=message.description,
        tags={tag.key: tag.value for tag in message.tags},
    )
    return answer(CreateModelVersion.Response(model_version=entities.model_version(version)))


@router.get("/model-versions/get")
async def get_model_version(request: Request) -> Response:
    """One version of a registered model."""
    message = await read(request, GetModelVersion())
    require(message, "name", "version")
    version = await run_in_worker(
        _registry(request).get_model_version, message.name, message.version
    )
    return answer(GetModelVersion.Response(model_version=entities.model_version(version)))


@router.get("/model-versions/search")
async def search_model_versions(request: Request) -> Response:
    """Versions matching MLflow's filter grammar (`name = 'x'`, `run_id = '...'`, tags)."""
    message = await read(request, SearchModelVersions())
    page = await run_in_worker(
        _registry(request).search_model_versions,
        message.filter or None,
        max_results=page_size(
            message,
            default=SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
            limit=SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD,
        ),
        order_by=list(message.order_by),
        page_token=message.page_token or None,
    )
    response = SearchModelVersions.Response(
        model_versions=[entities.model_version(v) for v in page.items]
    )
    if page.next_token:
        response.next_page_token = page.next_token
    return answer(response)


@router.get("/model-versions/get-download-uri")
async def get_model_version_download_uri(request: Request) -> Response:
    """Where a version's files are: its source, as registered."""
    message = await read(request, GetModelVersionDownloadUri())
    require(message, "name", "version")
    version = await run_in_worker(
        _registry(request).get_model_version, message.name, message.version
    )
    return answer(GetModelVersionDownloadUri.Response(artifact_uri=version.source))


@router.patch("/model-versions/update", dependencies=WRITE)
async def update_model_version(request: Request) -> Response:
    """Change a version's description."""
    message = await read(request, UpdateModelVersion())
    require(message, "name", "version")
    version = await run_in_worker(
        _registry(request).update_model_version,
        message.name,
        message.version,
        description=message.description,
    )
    return answer(UpdateModelVersion.Response(model_version=entities.model_version(version)))


@router.delete("/model-versions/delete", dependencies=WRITE)
async def delete_model_version(request: Request) -> Response:
    """Remove one version and the aliases pointing at it."""
    message = await read(request, DeleteModelVersion())
    require(message, "name", "version")
    await run_in_worker(_registry(request).delete_model_version, message.name, message.version)
    return answer(DeleteModelVersion.Response())


@router.post("/model-versions/transition-stage", dependencies=WRITE)
async def transition_stage(request: Request) -> Response:
    """Move a version to a stage (None, Staging, Production, Archived); a version that may
    not be promoted cannot move to Staging or Production."""
    message = await read(request, TransitionModelVersionStage())
    require(message, "name", "version", "stage")
    version = await run_in_worker(
        _registry(request).transition_stage,
        message.name,
        message.version,
        message.stage,
        archive_existing=message.archive_existing_versions,
    )
    return answer(
        TransitionModelVersionStage.Response(model_version=entities.model_version(version))
    )


@router.post("/model-versions/set-tag", dependencies=WRITE)
async def set_model_version_tag(request: Request) -> Response:
    """Set (or change) one tag of a version."""
    message = await read(request, SetModelVersionTag())
    require(message, "name", "version", "key")
    await run_in_worker(
        _registry(request).set_model_version_tag,
        message.name,
        message.version,
        message.key,
        message.value,
    )
    return answer(SetModelVersionTag.Response())


@router.delete("/model-versions/delete-tag", dependencies=WRITE)
async def delete_model_version_tag(request: Request) -> Response:
    """Remove one tag of a version."""
    message = await read(request, DeleteModelVersionTag())
    require(message, "name", "version", "key")
    await run_in_worker(
        _registry(request).delete_model_version_tag, message.name, message.version, message.key
    )
    return answer(DeleteModelVersionTag.Response())

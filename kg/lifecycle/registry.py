"""Registered models and their versions: register a version from a run or from an ingested model,
approve it, give it aliases (`champion`, `staging`) that move, and MLflow's stages.

A version is a `prov:Entity`: `prov:wasGeneratedBy` the run it came from, `mkg:registeredFrom`
the ingested model it is (a hub model, a local folder), `mkg:fineTunedFrom` the base model it was
tuned from (the property model cards use, so lineage joins the hub's). Approval moves along the
transitions the ontology allows (pending -> approved or rejected, ...); a version whose status is
not promotable (rejected, deprecated) gets no alias and no stage, and only an approved one may be
deployed (`kg.lifecycle.deployments`). Each decision is kept: who, when, why.

>>> from kg.store import EmbeddedStore
>>> from kg.lifecycle.tracking import Tracking
>>> store = EmbeddedStore.open(None)
>>> run = Tracking(store).create_run(Tracking(store).create_experiment("e"))
>>> registry = Registry(store)
>>> _ = registry.create_registered_model("sentiment")
>>> v1 = registry.create_model_version("sentiment", f"runs:/{run.run_id}/model", run_id=run.run_id)
>>> registry.decide("sentiment", v1.version, "rejected", by="ana", notes="overfits").approval
'rejected'
>>> registry.set_alias("sentiment", "champion", v1.version)
Traceback (most recent call last):
...
kg.errors.InvalidStateError: field `version`: version 1 of 'sentiment' is rejected: ...
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence

from pyoxigraph import Literal, NamedNode

from kg.errors import AlreadyExistsError, InvalidStateError, LifecycleError, NotFoundError
from kg.lifecycle.graph import (
    GraphRecord,
    LifecycleIds,
    Write,
    from_millis,
    model_node,
    now_millis,
    tag,
    to_millis_literal,
)
from kg.lifecycle.lineage import refuse_cycle
from kg.lifecycle.records import ModelVersion, Page, RegisteredModel
from kg.lifecycle.rules import (
    check,
    mlflow_verdicts,
    page_start,
    registry_entities,
    search_utils,
    token_at,
    validation,
)
from kg.lifecycle.vocabulary import vocabulary
from kg.store.base import ModelStore
from kg.store.sparql_text import sparql_term
from ontology.files import text_of
from ontology.namespaces import MKG, PROV, XSD

__all__ = ["STAGES", "Registry"]

STAGES = ("None", "Staging", "Production", "Archived")
"""MLflow's model-version stages (deprecated by MLflow in favour of aliases; still served)."""
PROMOTING_STAGES = ("Staging", "Production")
TAG_FINE_TUNED_FROM = "modelkg.fine_tuned_from"
"""A version tag an MLflow client can set to say which hub model the version was tuned from."""


class Registry:
    """The model registry in one store (embedded or remote)."""

    def __init__(self, store: ModelStore, ids: LifecycleIds | None = None) -> None:
        self.store = store
        self.ids = ids or LifecycleIds.from_environment()
        self.words = vocabulary()

    # -- registered models ---------------------------------------------------------------------
    def _node(self, name: str) -> NamedNode | None:
        named = sparql_term(Literal(name))
        rows = self.store.select(
            f"SELECT ?m WHERE {{ ?m a mkg:RegisteredModel ; mkg:name {named} }} LIMIT 1"
        )
        for row in rows:
            node = row["m"]
            assert isinstance(node, NamedNode)
            return node
        return None

    def _existing(self, name: str) -> NamedNode:
        node = self._node(name)
        if node is None:
            raise NotFoundError(f"Registered Model with name={name} not found", field="name")
        return node

    def create_registered_model(
        self, name: str, *, description: str = "", tags: Mapping[str, str] | None = None
    ) -> RegisteredModel:
        """A new, empty registered model; its name must be free."""
        check(validation._validate_model_name, name, field="name")
        for key, value in (tags or {}).items():
            check(validation._validate_registered_model_tag, key, value, field="tags")
        with self.store.writer():
            if self._node(name) is not None:
                raise AlreadyExistsError(
                    f"Registered Model (name={name}) already exists.", field="name",
                    hint="register a new version of it instead",
                )  # fmt: skip
            node = self.ids.registered_model(uuid.uuid4().hex)
            now = to_millis_literal(now_millis())
            write = Write(self.ids.graph_of(node)).new_graph()
            write.typed(node, MKG.RegisteredModel, PROV.Entity)
            write.add_all(
                node,
                [
                    (MKG.name, Literal(name)),
                    (MKG.description, Literal(description) if description else None),
                    (MKG.createdAt, now),
                    (MKG.updatedAt, now),
                ],
            )
            for key, value in (tags or {}).items():
                tag(write, node, key, value)
            write.apply(self.store)
        return self.get_registered_model(name)

    def get_registered_model(self, name: str) -> RegisteredModel:
        node = self._existing(name)
        return self._model_of(node, GraphRecord(self.store.graph_quads(self.ids.graph_of(node))))

    def _model_of(self, node: NamedNode, record: GraphRecord) -> RegisteredModel:
        versions = [self._version_of(v, record) for v in self._versions(node, record)]
        aliases = {}
        for alias in record.all(node, MKG.hasAlias):
            assert isinstance(alias, NamedNode)
            target = record.one(alias, MKG.aliasOf)
            if target is not None:
                aliases[record.one(alias, MKG.name) or ""] = target.rsplit("/", 1)[-1]
        latest: dict[str, ModelVersion] = {}
        for version in versions:
            latest[version.stage] = version  # versions come in number order
        return RegisteredModel(
            record.one(node, MKG.name) or "",
            from_millis(record.term(node, MKG.createdAt)),
            from_millis(record.term(node, MKG.updatedAt)),
            record.one(node, MKG.description) or "",
            record.pairs(node, MKG.hasTag),
            aliases,
            tuple(latest.values()),
            node.value,
        )

    @staticmethod
    def _versions(node: NamedNode, record: GraphRecord) -> list[NamedNode]:
        found = [
            subject
            for subject, predicates in record.by_subject.items()
            if node in predicates.get(MKG.versionOf, [])
        ]
        return sorted(found, key=lambda v: int(record.one(v, MKG.versionNumber) or 0))

    def registered_models(self) -> list[RegisteredModel]:
        rows = self.store.select("SELECT ?m WHERE { ?m a mkg:RegisteredModel }")
        models = []
        for row in rows:
            node = row["m"]
            assert isinstance(node, NamedNode)
            models.append(
                self._model_of(node, GraphRecord(self.store.graph_quads(self.ids.graph_of(node))))
            )
        return models

    def search_registered_models(
        self,
        filter_string: str | None = None,
        *,
        max_results: int = 100,
        order_by: Sequence[str] = (),
        page_token: str | None = None,
    ) -> Page[RegisteredModel]:
        """Registered models as MLflow's search finds them (its own in-memory filter, order and
        paging: a registry holds hundreds of names, not millions)."""
        models = {m.name: m for m in self.registered_models()}
        with mlflow_verdicts("filter"):
            entities = [
                registry_entities.RegisteredModel(
                    m.name,
                    m.creation_time,
                    m.last_updated_time,
                    m.description,
                    None,
                    [registry_entities.RegisteredModelTag(k, v) for k, v in m.tags.items()],
                )
                for m in models.values()
            ]
            entities = search_utils.SearchModelUtils.filter(entities, filter_string)
            entities = search_utils.SearchModelUtils.sort(entities, list(order_by) or ["name ASC"])
            start = page_start(page_token)
        chosen = entities[start : start + max_results]
        more = start + max_results < len(entities)
        token = token_at(start + max_results) if more else None
        return Page([models[e.name] for e in chosen], token)

    def update_registered_model(self, name: str, *, description: str) -> RegisteredModel:
        with self.store.writer():
            node = self._existing(name)
            self._replace(node, MKG.description, Literal(description))
        return self.get_registered_model(name)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        check(validation._validate_model_name, new_name, field="new_name")
        with self.store.writer():
            node = self._existing(name)
            if self._node(new_name) is not None:
                raise AlreadyExistsError(
                    f"Registered Model (name={new_name}) already exists.", field="new_name"
                )
            self._replace(node, MKG.name, Literal(new_name))
        return self.get_registered_model(new_name)

    def delete_registered_model(self, name: str) -> None:
        """Remove the registered model with its versions and aliases (deployments keep their
        history)."""
        with self.store.writer():
            node = self._existing(name)
            self.store.remove_graphs([self.ids.graph_of(node)])

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        check(validation._validate_registered_model_tag, key, value, field="key")
        with self.store.writer():
            node = self._existing(name)
            self._set_tag(node, node, key, value)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        with self.store.writer():
            node = self._existing(name)
            self._delete_tag(node, node, key)

    # -- versions ------------------------------------------------------------------------------
    def register_version(
        self,
        name: str,
        *,
        run_id: str | None = None,
        source: str | None = None,
        model: str | None = None,
        fine_tuned_from: Sequence[str] = (),
        description: str = "",
    ) -> ModelVersion:
        """A new version of `name`, the registered model made first when it is new: what
        `modelkg runs register`, GraphQL's `registerVersion` and REST's POST of a version do.
        Its source defaults to the run's (`runs:/ID/model`), else the model's name."""
        if run_id is None and model is None:
            raise LifecycleError(
                "say where the version comes from: a run, or an ingested model", field="run_id"
            )
        with self.store.writer():
            if self._node(name) is None:
                self.create_registered_model(name)
            return self.create_model_version(
                name,
                source or (f"runs:/{run_id}/model" if run_id else str(model)),
                run_id=run_id,
                model=model,
                fine_tuned_from=fine_tuned_from,
                description=description,
            )

    def create_model_version(
        self,
        name: str,
        source: str,
        *,
        run_id: str | None = None,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        model: str | None = None,
        fine_tuned_from: Sequence[str] = (),
    ) -> ModelVersion:
        """A new version (numbered one past the last): from a run (`run_id`: the version was
        generated by it), or an ingested model (`model`: its IRI or hub id), or both; tuned
        from `fine_tuned_from` base models (IRIs or hub ids, or the version tag
        `modelkg.fine_tuned_from`)."""
        tags = dict(tags or {})
        for key, value in tags.items():
            check(validation._validate_model_version_tag, key, value, field="tags")
        bases = [*fine_tuned_from]
        if TAG_FINE_TUNED_FROM in tags:
            bases.append(tags[TAG_FINE_TUNED_FROM])
        base_nodes = [model_node(b, "fine_tuned_from") for b in bases]
        registered_from = model_node(model, "model") if model else None
        with self.store.writer():
            node = self._existing(name)
            graph = self.ids.graph_of(node)
            run = None
            if run_id is not None:
                run = self.ids.run(run_id)
                if not self.store.has_graph(self.ids.graph_of(run)):
                    raise NotFoundError(f"Run with id={run_id} not found", field="run_id")
            if registered_from is not None and not self.store.ask(
                f"ASK {{ {sparql_term(registered_from)} a mkg:Model }}"
            ):
                raise NotFoundError(
                    f"no ingested model is called {model}", field="model",
                    hint="ingest it first (modelkg ingest PATH_OR_HUB_ID), then register it",
                )  # fmt: skip
            rows = self.store.select(
                f"SELECT (MAX(?n) AS ?top) WHERE {{ GRAPH {sparql_term(graph)} "
                "{ ?v mkg:versionNumber ?n } }"
            )
            top = next(iter(rows))["top"]
            number = int(top.value) + 1 if top is not None else 1
            version = LifecycleIds.version(node, number)
            for base in base_nodes:
                refuse_cycle(self.store, version, base)
            now = to_millis_literal(now_millis())
            write = Write(graph)
            write.typed(version, MKG.ModelVersion, PROV.Entity)
            write.add_all(
                version,
                [
                    (MKG.versionOf, node),
                    (MKG.versionNumber, Literal(str(number), datatype=XSD.integer)),
                    (MKG.versionSource, Literal(source)),
                    (PROV.wasGeneratedBy, run),
                    (MKG.registeredFrom, registered_from),
                    (MKG.description, Literal(description) if description else None),
                    (MKG.stage, Literal("None")),
                    (MKG.approvalStatus, self.words.approvals["pending"].iri),
                    (MKG.createdAt, now),
                    (MKG.updatedAt, now),
                ],
            )
            for base in base_nodes:
                write.add(version, MKG.fineTunedFrom, base).add(version, PROV.wasDerivedFrom, base)
            for key, value in tags.items():
                tag(write, version, key, value)
            write.extend(self._touch(node))
            write.apply(self.store)
        return self.get_model_version(name, str(number))

    def _version_node(
        self, name: str, version: str | int
    ) -> tuple[NamedNode, NamedNode, GraphRecord]:
        if not re.fullmatch(r"\d{1,9}", str(version)):
            raise LifecycleError(
                f"Version must be a positive integer, got {version!r}", field="version"
            )
        node = self._existing(name)
        record = GraphRecord(self.store.graph_quads(self.ids.graph_of(node)))
        found = LifecycleIds.version(node, int(version))
        if record.one(found, MKG.versionNumber) is None:
            raise NotFoundError(
                f"Model Version (name={name}, version={version}) not found", field="version"
            )
        return node, found, record

    def get_model_version(self, name: str, version: str | int) -> ModelVersion:
        _, node, record = self._version_node(name, version)
        return self._version_of(node, record)

    def _version_of(self, node: NamedNode, record: GraphRecord) -> ModelVersion:
        owner = record.one(node, MKG.versionOf)
        name = record.one(NamedNode(owner), MKG.name) if owner else ""
        run = record.one(node, PROV.wasGeneratedBy)
        aliases = tuple(
            sorted(
                record.one(alias, MKG.name) or ""  # type: ignore[arg-type]
                for alias in record.all(NamedNode(owner), MKG.hasAlias)  # type: ignore[arg-type]
                if record.one(alias, MKG.aliasOf) == node.value  # type: ignore[arg-type]
            )
        )
        approval = self.words.approval_of(record.one(node, MKG.approvalStatus) or "")
        return ModelVersion(
            name=name or "",
            version=record.one(node, MKG.versionNumber) or "",
            creation_time=from_millis(record.term(node, MKG.createdAt)),
            last_updated_time=from_millis(record.term(node, MKG.updatedAt)),
            source=record.one(node, MKG.versionSource) or "",
            run_id=run.rsplit("/", 1)[-1] if run else None,
            description=record.one(node, MKG.description) or "",
            stage=record.one(node, MKG.stage) or "None",
            approval=approval.code,
            tags=record.pairs(node, MKG.hasTag),
            aliases=aliases,
            model=record.one(node, MKG.registeredFrom),
            fine_tuned_from=tuple(sorted(text_of(v) for v in record.all(node, MKG.fineTunedFrom))),
            iri=node.value,
        )

    def versions(self, name: str) -> list[ModelVersion]:
        node = self._existing(name)
        record = GraphRecord(self.store.graph_quads(self.ids.graph_of(node)))
        return [self._version_of(v, record) for v in self._versions(node, record)]

    def search_model_versions(
        self,
        filter_string: str | None = None,
        *,
        max_results: int = 10_000,
        order_by: Sequence[str] = (),
        page_token: str | None = None,
    ) -> Page[ModelVersion]:
        """Versions as MLflow's search finds them (`name = 'x'`, `run_id = '...'`, tags)."""
        everything = [v for m in self.registered_models() for v in self.versions(m.name)]
        by_key = {(v.name, v.version): v for v in everything}
        with mlflow_verdicts("filter"):
            entities = [
                registry_entities.ModelVersion(
                    v.name,
                    v.version,
                    v.creation_time,
                    v.last_updated_time,
                    v.description,
                    None,
                    v.stage,
                    v.source,
                    v.run_id,
                    tags=[registry_entities.ModelVersionTag(k, val) for k, val in v.tags.items()],
                    aliases=list(v.aliases),
                )
                for v in everything
            ]
            entities = search_utils.SearchModelVersionUtils.filter(entities, filter_string)
            entities = search_utils.SearchModelVersionUtils.sort(
                entities,
                list(order_by)
                or ["last_updated_timestamp DESC", "name ASC", "version_number DESC"],
            )
            start = page_start(page_token)
        chosen = entities[start : start + max_results]
        more = start + max_results < len(entities)
        token = token_at(start + max_results) if more else None
        return Page([by_key[(e.name, e.version)] for e in chosen], token)

    def update_model_version(
        self, name: str, version: str | int, *, description: str
    ) -> ModelVersion:
        with self.store.writer():
            _, node, _ = self._version_node(name, version)
            self._replace(node, MKG.description, Literal(description))
        return self.get_model_version(name, version)

    def delete_model_version(self, name: str, version: str | int) -> None:
        """Remove one version and the aliases that point at it."""
        with self.store.writer():
            owner, node, record = self._version_node(name, version)
            graph = self.ids.graph_of(owner)
            write = Write(graph)
            write.remove_quads(record.about(node))
            for tag in record.all(node, MKG.hasTag):
                write.remove_quads(record.about(tag))  # type: ignore[arg-type]
            for decision in record.all(node, MKG.hasDecision):
                write.remove_quads(record.about(decision))  # type: ignore[arg-type]
            for alias in record.all(owner, MKG.hasAlias):
                assert isinstance(alias, NamedNode)
                if record.one(alias, MKG.aliasOf) == node.value:
                    write.remove_quads(record.about(alias)).remove(owner, MKG.hasAlias, alias)
            write.apply(self.store)

    def set_model_version_tag(self, name: str, version: str | int, key: str, value: str) -> None:
        check(validation._validate_model_version_tag, key, value, field="key")
        with self.store.writer():
            owner, node, _ = self._version_node(name, version)
            self._set_tag(owner, node, key, value)

    def delete_model_version_tag(self, name: str, version: str | int, key: str) -> None:
        with self.store.writer():
            owner, node, _ = self._version_node(name, version)
            self._delete_tag(owner, node, key)

    def transition_stage(
        self, name: str, version: str | int, stage: str, *, archive_existing: bool = False
    ) -> ModelVersion:
        """MLflow's stage transition; a version that may not be promoted cannot move to
        Staging or Production."""
        chosen = next((s for s in STAGES if s.lower() == stage.lower()), None)
        if chosen is None:
            raise LifecycleError(
                f"Invalid Model Version stage: {stage}. Value must be one of {', '.join(STAGES)}.",
                field="stage",
            )
        with self.store.writer():
            owner, node, record = self._version_node(name, version)
            if chosen in PROMOTING_STAGES:
                self._refuse_unpromotable(name, version, record, node)
            write = self._replacing(owner, node, MKG.stage, Literal(chosen))
            if archive_existing and chosen in PROMOTING_STAGES:
                for other in self._versions(owner, record):
                    if other != node and record.one(other, MKG.stage) == chosen:
                        write.extend(self._replacing(owner, other, MKG.stage, Literal("Archived")))
            write.apply(self.store)
        return self.get_model_version(name, version)

    def get_latest_versions(self, name: str, stages: Sequence[str] = ()) -> list[ModelVersion]:
        """The latest version in each stage (every stage when none is named)."""
        latest = self.get_registered_model(name).latest_versions
        wanted = {s.lower() for s in stages}
        return [v for v in latest if not wanted or v.stage.lower() in wanted]

    # -- approval ------------------------------------------------------------------------------
    def decide(
        self, name: str, version: str | int, status: str, *, by: str, notes: str = ""
    ) -> ModelVersion:
        """Move a version's approval along an allowed transition, recording who, when, why."""
        chosen = self.words.approvals.get(status.lower())
        if chosen is None:
            raise LifecycleError(
                f"unknown approval status {status!r}", field="status",
                expected="one of " + ", ".join(self.words.approvals),
            )  # fmt: skip
        if not by.strip():
            raise LifecycleError("say who decides", field="by", expected="a user name")
        with self.store.writer():
            owner, node, record = self._version_node(name, version)
            current = self.words.approval_of(record.one(node, MKG.approvalStatus) or "")
            if chosen.code not in current.may_become:
                allowed = ", ".join(sorted(current.may_become)) or "nothing"
                raise InvalidStateError(
                    f"version {version} of {name!r} is {current.code}; it may become {allowed}, "
                    f"not {chosen.code}",
                    field="status",
                )
            count = len(record.all(node, MKG.hasDecision))
            decision = LifecycleIds.part(node, "decision", str(count + 1))
            write = self._replacing(owner, node, MKG.approvalStatus, chosen.iri)
            write.add(node, MKG.hasDecision, decision).typed(decision, MKG.ApprovalDecision)
            write.add_all(
                decision,
                [
                    (MKG.decidedStatus, chosen.iri),
                    (MKG.decidedBy, Literal(by)),
                    (MKG.notes, Literal(notes) if notes else None),
                    (PROV.endedAtTime, to_millis_literal(now_millis())),
                ],
            )
            write.apply(self.store)
        return self.get_model_version(name, version)

    def decisions(self, name: str, version: str | int) -> list[dict[str, str]]:
        """The version's approval decisions, oldest first: status, by, notes, at (ms)."""
        _, node, record = self._version_node(name, version)
        found = []
        for decision in record.all(node, MKG.hasDecision):
            assert isinstance(decision, NamedNode)
            status = self.words.approval_of(record.one(decision, MKG.decidedStatus) or "")
            found.append(
                {
                    "status": status.code,
                    "by": record.one(decision, MKG.decidedBy) or "",
                    "notes": record.one(decision, MKG.notes) or "",
                    "at": str(from_millis(record.term(decision, PROV.endedAtTime))),
                    "number": decision.value.rsplit("/", 1)[-1],
                }
            )
        return sorted(found, key=lambda d: int(d["number"]))

    def _refuse_unpromotable(
        self, name: str, version: str | int, record: GraphRecord, node: NamedNode
    ) -> None:
        approval = self.words.approval_of(record.one(node, MKG.approvalStatus) or "")
        if not approval.promotable:
            raise InvalidStateError(
                f"version {version} of {name!r} is {approval.code}: a {approval.code} version "
                "cannot be promoted",
                field="version",
                hint="approve a version first, or promote another",
            )

    # -- aliases -------------------------------------------------------------------------------
    def set_alias(self, name: str, alias: str, version: str | int) -> None:
        """Point `alias` at `version` (moving it from wherever it pointed)."""
        with mlflow_verdicts("alias"):
            validation._validate_model_alias_name(alias)
            validation._validate_model_alias_name_reserved(alias)
        with self.store.writer():
            owner, node, record = self._version_node(name, version)
            self._refuse_unpromotable(name, version, record, node)
            alias_node = LifecycleIds.part(owner, "alias", alias)
            write = Write(self.ids.graph_of(owner))
            old = record.one(alias_node, MKG.aliasOf)
            if old is not None:
                write.remove(alias_node, MKG.aliasOf, NamedNode(old))
            else:
                write.add(owner, MKG.hasAlias, alias_node).typed(alias_node, MKG.Alias)
                write.add(alias_node, MKG.name, Literal(alias))
            write.add(alias_node, MKG.aliasOf, node)
            write.apply(self.store)

    def delete_alias(self, name: str, alias: str) -> None:
        with self.store.writer():
            owner = self._existing(name)
            alias_node = LifecycleIds.part(owner, "alias", alias)
            record = GraphRecord(self.store.graph_quads(self.ids.graph_of(owner)))
            if record.one(alias_node, MKG.aliasOf) is None:
                raise NotFoundError(f"Registered model alias {alias} not found.", field="alias")
            write = Write(self.ids.graph_of(owner)).remove_quads(record.about(alias_node))
            write.remove(owner, MKG.hasAlias, alias_node).apply(self.store)

    def get_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        owner = self._existing(name)
        record = GraphRecord(self.store.graph_quads(self.ids.graph_of(owner)))
        target = record.one(LifecycleIds.part(owner, "alias", alias), MKG.aliasOf)
        if target is None:
            raise NotFoundError(f"Registered model alias {alias} not found.", field="alias")
        return self._version_of(NamedNode(target), record)

    # -- helpers -------------------------------------------------------------------------------
    def _touch(self, owner: NamedNode) -> Write:
        graph = self.ids.graph_of(owner)
        write = Write(graph)
        for quad in self.store.subject_quads(owner, graph):
            if quad.predicate == MKG.updatedAt:
                write.removed.append(quad)
        return write.add(owner, MKG.updatedAt, to_millis_literal(now_millis()))

    def _replacing(
        self, owner: NamedNode, subject: NamedNode, predicate: NamedNode, obj: NamedNode | Literal
    ) -> Write:
        graph = self.ids.graph_of(owner)
        write = Write(graph)
        for quad in self.store.subject_quads(subject, graph):
            if quad.predicate in (predicate, MKG.updatedAt):
                write.removed.append(quad)
        write.add(subject, predicate, obj)
        return write.add(subject, MKG.updatedAt, to_millis_literal(now_millis()))

    def _replace(self, subject: NamedNode, predicate: NamedNode, obj: NamedNode | Literal) -> None:
        owner = NamedNode(subject.value.split("/version/")[0])
        self._replacing(owner, subject, predicate, obj).apply(self.store)

    def _set_tag(self, owner: NamedNode, subject: NamedNode, key: str, value: str) -> None:
        graph = self.ids.graph_of(owner)
        node = LifecycleIds.part(subject, "tag", key)
        before = [
            q.object for q in self.store.subject_quads(node, graph) if q.predicate == MKG.value
        ]
        write = Write(graph)
        tag(write, subject, key, value, before=text_of(before[0]) if before else None)
        write.apply(self.store)

    def _delete_tag(self, owner: NamedNode, subject: NamedNode, key: str) -> None:
        graph = self.ids.graph_of(owner)
        node = LifecycleIds.part(subject, "tag", key)
        quads = self.store.subject_quads(node, graph)
        if not quads:
            raise NotFoundError(f"No tag with key {key!r}", field="key")
        Write(graph).remove_quads(quads).remove(subject, MKG.hasTag, node).apply(self.store)

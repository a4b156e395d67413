"""Resource inference over the 13 bundled documents (oracle: shared/twins/*.md, section
"Resource families") and over small documents written for one rule each."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest

from apitwin.spec.document import SpecDocument
from apitwin.spec.loader import load_document
from apitwin.spec.operations import Operation, read_operations
from apitwin.state.inference import (
    Family,
    OverrideError,
    infer_families,
    roles_by_operation,
)
from apitwin.state.inspect import format_inspection

SPECS = Path(__file__).parents[2] / "src" / "apitwin" / "twins" / "specs"
BUNDLED = sorted(p.stem for p in SPECS.glob("*.json"))


@cache
def loaded(name: str) -> tuple[SpecDocument, list[Operation]]:
    doc = load_document(SPECS / f"{name}.json")
    return doc, read_operations(doc)


@cache
def inferred(name: str) -> tuple[dict[str, Family], tuple[str, ...]]:
    doc, ops = loaded(name)
    families, unmapped = infer_families(doc, ops)
    return {f.name: f for f in families}, tuple(unmapped)


def family(twin: str, name: str) -> Family:
    families, _ = inferred(twin)
    assert name in families, f"{twin}: no family {name!r}; have {sorted(families)}"
    return families[name]


def doc_of(paths: dict[str, Any], **components: Any) -> tuple[SpecDocument, list[Operation]]:
    tree: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": paths,
    }
    if components:
        tree["components"] = components
    doc = load_document("api.json", orjson.dumps(tree))
    return doc, read_operations(doc)


def ok(schema: dict[str, Any], status: str = "200") -> dict[str, Any]:
    return {status: {"description": "ok", "content": {"application/json": {"schema": schema}}}}


def body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def obj(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props}


STR = {"type": "string"}
INT = {"type": "integer"}


# -- every bundled document --------------------------------------------------------------


def test_thirteen_bundled_documents() -> None:
    assert len(BUNDLED) == 13


@pytest.mark.parametrize("name", BUNDLED)
def test_families_are_consistent(name: str) -> None:
    doc, ops = loaded(name)
    families, unmapped = inferred(name)
    op_ids = [op.operation_id for op in ops]
    mapped = [op_id for f in families.values() for op_id in f.operations.values()]
    # Every operation is either in a family or reported unmapped, never both.
    assert set(mapped) | set(unmapped) == set(op_ids)
    assert not set(mapped) & set(unmapped)
    assert list(unmapped) == [op_id for op_id in op_ids if op_id in set(unmapped)]
    # An operation serves two families only when a path parameter tells them apart.
    for op_id, uses in roles_by_operation(families.values()).items():
        if len(uses) > 1:
            assert all(role in f.selectors for f, role in uses), op_id
    by_id = {op.operation_id: op for op in ops}
    for f in families.values():
        assert f.operations, f.name
        for role, op_id in f.operations.items():
            assert f.routes[role] == (by_id[op_id].method, by_id[op_id].path)
        if f.singleton:
            assert f.id_field == "" and f.item_path is None and "get" in f.operations
        else:
            assert f.id_field, f.name
            assert "get" in f.operations or {"list", "create"} <= set(f.operations), f.name
        # The pointers must lead to schemas validators can be compiled from.
        for envelope in f.envelopes.values():
            assert isinstance(doc.lookup(envelope.schema_pointer), dict)
            assert isinstance(doc.lookup(envelope.item_pointer), dict)
        if f.id_schema_pointer is not None:
            assert isinstance(doc.lookup(f.id_schema_pointer), dict)
        if f.parent_family is not None:
            # The parent's item path holds exactly the parameters naming the parent.
            parent = families[f.parent_family]
            assert parent.item_path is not None
            assert len(f.parent_params) == parent.item_path.count("{")


def test_names_are_stable_across_runs() -> None:
    doc, ops = loaded("digitalocean")
    first = [f.name for f in infer_families(doc, ops)[0]]
    again = [f.name for f in infer_families(doc, ops)[0]]
    assert first == again
    assert len(set(first)) == len(first)


# -- DigitalOcean ----------------------------------------------------------------------


def test_digitalocean_droplets() -> None:
    droplets = family("digitalocean", "droplets")
    assert droplets.collection_path == "/v2/droplets"
    assert droplets.item_path == "/v2/droplets/{droplet_id}"
    assert droplets.id_param == "droplet_id"
    assert droplets.id_field == "id"
    assert droplets.id_type == "integer"
    assert {"list": "droplets_list", "create": "droplets_create"}.items() <= (
        droplets.operations.items()
    )
    assert droplets.operations["get"] == "droplets_get"
    assert droplets.operations["delete"] == "droplets_destroy"
    assert droplets.list_envelope is not None and droplets.list_envelope.key == "droplets"
    assert droplets.item_envelope is not None and droplets.item_envelope.key == "droplet"
    # The create answer is a oneOf of one droplet or many: the single branch is used.
    assert droplets.envelopes["create"].key == "droplet"
    assert droplets.envelopes["create"].item_pointer == droplets.envelopes["get"].item_pointer
    assert droplets.parent_family is None and droplets.parent_params == ()


def test_digitalocean_domains_and_nested_records() -> None:
    domains = family("digitalocean", "domains")
    assert domains.id_param == "domain_name" and domains.id_field == "name"
    records = family("digitalocean", "domains.records")
    assert records.parent_family == "domains"
    assert records.parent_params == ("domain_name",)
    assert records.id_param == "domain_record_id" and records.id_field == "id"
    assert records.list_envelope is not None and records.list_envelope.key == "domain_records"
    assert records.operations["replace"] == "domains_update_record"
    assert records.operations["update"] == "domains_patch_record"


def test_digitalocean_ssh_keys_identifier_names_the_id() -> None:
    keys = family("digitalocean", "account_keys")
    assert keys.id_param == "ssh_key_identifier"
    assert keys.id_field == "id"
    assert keys.list_envelope is not None and keys.list_envelope.key == "ssh_keys"
    assert keys.item_envelope is not None and keys.item_envelope.key == "ssh_key"
    assert set(keys.operations) == {"list", "create", "get", "replace", "delete"}


def test_digitalocean_ids_that_are_not_called_id() -> None:
    assert family("digitalocean", "floating_ips").id_field == "ip"
    assert family("digitalocean", "floating_ips").id_type == "string(ipv4)"
    assert family("digitalocean", "tags").id_field == "name"
    assert family("digitalocean", "functions_namespaces").id_field == "uuid"
    assert family("digitalocean", "monitoring_alerts").id_field == "uuid"
    assert family("digitalocean", "databases.users").id_field == "name"  # {username}


def test_digitalocean_account_is_a_singleton() -> None:
    account = family("digitalocean", "account")
    assert account.singleton
    assert account.collection_path == "/v2/account"
    assert account.operations == {"get": "account_get"}
    assert account.item_envelope is not None and account.item_envelope.key == "account"


def test_digitalocean_singletons_under_a_parent() -> None:
    config = family("digitalocean", "databases.config")
    assert config.singleton and config.parent_family == "databases"
    assert config.parent_params == ("database_cluster_uuid",)
    assert config.operations == {"get": "databases_get_config", "update": "databases_patch_config"}
    assert config.request_envelope_key == "config"
    registry = family("digitalocean", "registry")
    assert set(registry.operations) == {"create", "get", "delete"}


def test_digitalocean_actions_and_their_parameter_names() -> None:
    droplet_actions = family("digitalocean", "droplets.actions")
    assert droplet_actions.parent_family == "droplets"
    assert droplet_actions.operations["create"] == "dropletActions_post"
    apps = family("digitalocean", "apps")
    assert apps.operations["action:rollback"] == "apps_create_rollback"
    assert apps.id_param == "id"
    assert apps.id_params["action:rollback"] == "app_id"


def test_digitalocean_ambiguities_stay_unmapped() -> None:
    families, unmapped = inferred("digitalocean")
    # A literal next to an item path is an alias of one item, not a resource of its own.
    assert "projects_get_default" in unmapped
    # Deleting by tag is a collection-level operation without a role.
    assert "droplets_destroy_byTag" in unmapped
    # The invoice "item" is a list of invoice lines: no key, no family.
    assert "invoices_get_byUUID" in unmapped
    # Read-only views are not singletons; listing-only paths are not families.
    assert "kubernetes_list_options" in unmapped and "regions_list" in unmapped
    # A list-and-delete pair without a way to read one item or create one is left alone.
    assert "registry_delete_repositoryTag" in unmapped
    # Lists held in one place (firewall rules) are not written back as a whole.
    assert "databases_update_firewall_rules" in unmapped


def test_digitalocean_collection_only_family() -> None:
    snapshots = family("digitalocean", "volumes.snapshots")
    assert snapshots.item_path is None
    assert snapshots.operations == {
        "list": "volumeSnapshots_list",
        "create": "volumeSnapshots_create",
    }
    assert snapshots.parent_family == "volumes"


# -- dnd5e -----------------------------------------------------------------------------


def test_dnd5e_lists_through_the_templated_endpoint() -> None:
    scores = family("dnd5e", "ability-scores")
    assert scores.id_field == "index" and scores.id_param == "index"
    assert scores.collection_path == "/api/ability-scores"
    assert scores.operations["list"] == "get_api_endpoint"
    assert scores.selectors == {"list": {"endpoint": "ability-scores"}}
    assert scores.list_envelope is not None and scores.list_envelope.key == "results"
    assert scores.operations["get"] == "get_api_ability_scores_index"
    # A literal list path wins over the templated one, as the router does.
    assert family("dnd5e", "spells").operations["list"] == "get_api_spells"
    assert family("dnd5e", "spells").selectors == {}


def test_dnd5e_nested_levels() -> None:
    levels = family("dnd5e", "classes.levels")
    assert levels.parent_family == "classes" and levels.parent_params == ("index",)
    assert levels.id_param == "class_level" and levels.id_field == "level"
    assert levels.list_envelope is not None and levels.list_envelope.key is None


# -- DRACOON, drchrono, Docker Hub, Nookipedia, eBay, DVP ------------------------------


def test_dracoon_items_and_range() -> None:
    for name in ("users", "nodes", "groups"):
        f = family("dracoon", name)
        assert f.list_envelope is not None and f.list_envelope.key == "items"
        assert f.id_field == "id" and f.id_type == "integer(int64)"
    users = family("dracoon", "users")
    assert set(users.operations) >= {"list", "create", "get", "replace", "delete"}
    nodes = family("dracoon", "nodes")
    assert {"action:copy_to", "action:move_to"} <= set(nodes.operations)
    comments = family("dracoon", "nodes.comments")
    assert comments.parent_family == "nodes" and comments.item_path is None


def test_dracoon_ambiguities_stay_unmapped() -> None:
    _, unmapped = inferred("dracoon")
    # Rooms and folders are typed views of nodes, written here but read at /v4/nodes.
    assert {"createRoom", "updateRoom", "createFolder", "updateFolder"} <= set(unmapped)
    # Upload channels: created with one schema, read with another, completed with a third.
    assert {"createFileUploadChannel", "requestUploadStatusFiles"} <= set(unmapped)
    # Bulk attribute writes are not creates of one resource.
    assert "setProfileAttributes" in unmapped
    assert "enableCustomerEncryption" in unmapped


def test_dracoon_singletons() -> None:
    account = family("dracoon", "user_account")
    assert account.singleton
    assert account.operations == {"get": "requestUserInfo", "replace": "updateUserAccount"}
    radius = family("dracoon", "system_config_auth_radius")
    assert set(radius.operations) == {"create", "get", "replace", "delete"}


def test_drchrono_patients() -> None:
    patients = family("drchrono", "patients")
    assert patients.list_envelope is not None and patients.list_envelope.key == "data"
    assert patients.item_envelope is not None and patients.item_envelope.key is None
    assert patients.id_field == "id" and patients.id_type == "integer"
    assert patients.operations == {
        "list": "patients_list",
        "create": "patients_create",
        "get": "patients_read",
        "replace": "patients_update",
        "update": "patients_partial_update",
        "delete": "patients_delete",
    }


def test_docker_hub_results() -> None:
    tokens = family("docker-hub", "access-tokens")
    assert tokens.list_envelope is not None and tokens.list_envelope.key == "results"
    assert tokens.id_field == "uuid"
    assert set(tokens.operations) == {"list", "create", "get", "update", "delete"}
    tags = family("docker-hub", "namespaces.repositories.tags")
    assert tags.list_envelope is not None and tags.list_envelope.key == "results"
    assert tags.parent_params == ("namespace", "repository")
    assert tags.id_field == "name"  # {tag} names the tag, though it also has an integer id


def test_docker_hub_scim_lists_pick_the_array_of_objects() -> None:
    # {schemas: [string], Resources: [object]}: the string array is not the list.
    schemas = family("docker-hub", "scim_2_0_Schemas")
    assert schemas.list_envelope is not None and schemas.list_envelope.key == "resources"


def test_docker_hub_singleton_per_parent() -> None:
    settings = family("docker-hub", "orgs.settings")
    assert settings.singleton and settings.parent_params == ("name",)
    assert set(settings.operations) == {"get", "replace"}


def test_nookipedia_bare_arrays_and_names() -> None:
    families, unmapped = inferred("nookipedia")
    assert len(families) == 14
    fish = family("nookipedia", "nh_fish")
    assert fish.list_envelope is not None and fish.list_envelope.key is None
    assert fish.item_envelope is not None and fish.item_envelope.key is None
    assert fish.id_param == "fish" and fish.id_field == "name"
    assert family("nookipedia", "nh_art").id_field == "name"  # {artwork}
    assert set(unmapped) == {"get_nh_events", "get_villagers"}


def test_ebay_lists_with_href_and_total() -> None:
    event = family("ebay-deal", "event")
    assert event.list_envelope is not None and event.list_envelope.key == "events"
    assert event.id_param == "event_id" and event.id_field == "eventId"
    item = family("ebay-browse", "item")
    # {items: [...], warnings: [...]}: the array named like the collection.
    assert item.list_envelope is not None and item.list_envelope.key == "items"
    assert item.id_field == "itemId"
    assert item.collection_path == "/item/"


def test_docker_dvp_navigation_is_not_crud() -> None:
    families, unmapped = inferred("docker-dvp")
    assert list(families) == ["namespaces"]
    assert families["namespaces"].collection_path is None
    assert "getNamespaceTimespans" in unmapped


@pytest.mark.parametrize("name", ["dweet", "digitalnz"])
def test_apis_without_pairs_map_nothing(name: str) -> None:
    # dweet answers no JSON schema at all; DigitalNZ ids carry a `.{format}` suffix.
    families, unmapped = inferred(name)
    assert families == {}
    assert len(unmapped) == len(loaded(name)[1])


# -- Docker Engine ---------------------------------------------------------------------


def test_docker_engine_ids_in_pascal_case() -> None:
    networks = family("docker-engine", "networks")
    assert networks.id_field == "Id" and networks.id_param == "id"
    assert networks.operations["create"] == "NetworkCreate"  # POST /networks/create
    volumes = family("docker-engine", "volumes")
    assert volumes.id_field == "Name" and volumes.id_param == "name"
    # {Volumes: [...], Warnings: [string]}
    assert volumes.list_envelope is not None and volumes.list_envelope.key == "Volumes"
    assert family("docker-engine", "services").id_field == "ID"


def test_docker_engine_containers_rpc_style() -> None:
    containers = family("docker-engine", "containers")
    assert containers.collection_path == "/containers"
    assert containers.item_path == "/containers/{id}"
    assert containers.id_field == "Id"
    ops = containers.operations
    assert ops["create"] == "ContainerCreate"
    assert containers.routes["create"] == ("POST", "/containers/create")
    assert ops["list"] == "ContainerList"
    assert containers.routes["list"] == ("GET", "/containers/json")
    assert ops["get"] == "ContainerInspect"
    assert containers.routes["get"] == ("GET", "/containers/{id}/json")
    assert ops["delete"] == "ContainerDelete"
    assert {"action:start", "action:stop", "action:kill", "action:wait"} <= set(ops)
    # The create answer {Id, Warnings} carries the key, so it is an item envelope.
    assert containers.envelopes["create"].key is None


def test_docker_engine_pulls_and_archives_are_not_creates() -> None:
    _, unmapped = inferred("docker-engine")
    # POST /images/create pulls (no JSON body, a progress stream back);
    # POST /plugins/create takes a tar.
    assert {"ImageCreate", "PluginCreate", "ExecInspect", "SwarmInspect"} <= set(unmapped)


# -- Discourse -------------------------------------------------------------------------


def test_discourse_json_suffix_paths() -> None:
    posts = family("discourse", "posts")
    assert posts.collection_path == "/posts.json"
    assert posts.item_path == "/posts/{id}.json"
    assert posts.operations["list"] == "listPosts"
    assert posts.operations["create"] == "createTopicPostPM"
    assert posts.list_envelope is not None and posts.list_envelope.key == "latest_posts"
    # GET answers the bare post, PUT takes and answers {"post": {...}}.
    assert posts.envelopes["get"].key is None
    assert posts.envelopes["replace"].key == "post"
    assert posts.request_keys == {"replace": "post"}
    assert posts.operations["action:locked"] == "lockPost"


def test_discourse_wrapped_items_and_item_only_families() -> None:
    user = family("discourse", "u")
    assert user.collection_path is None
    assert user.id_field == "username"
    assert user.item_envelope is not None and user.item_envelope.key == "user"
    topics = family("discourse", "t")
    assert topics.item_path == "/t/{id}.json"
    assert {"get", "delete", "action:status", "action:invite"} <= set(topics.operations)
    groups = family("discourse", "groups")
    assert groups.item_envelope is not None and groups.item_envelope.key == "group"
    assert groups.request_envelope_key == "group"


def test_discourse_ambiguities_stay_unmapped() -> None:
    _, unmapped = inferred("discourse")
    # Keyed by an external id that the user object does not hold.
    assert "getUserExternalId" in unmapped
    # Created and deleted but never read back; categories listed only inside category_list.
    assert {"createGroup", "deleteGroup", "createCategory", "updateCategory"} <= set(unmapped)
    # Backups are downloads, not JSON resources.
    assert "downloadBackup" in unmapped


# -- overrides -------------------------------------------------------------------------


def test_override_names_a_family_explicitly() -> None:
    doc, ops = loaded("docker-engine")
    overrides = {
        "families": {
            "containers": {
                "list": "ContainerList",
                "create": "ContainerCreate",
                "get": "ContainerInspect",
                "delete": "ContainerDelete",
                "id_field": "Id",
            }
        }
    }
    families, unmapped = infer_families(doc, ops, overrides)
    by_name = {f.name: f for f in families}
    containers = by_name["containers"]
    assert {r: containers.operations[r] for r in ("list", "create", "get", "delete")} == {
        "list": "ContainerList",
        "create": "ContainerCreate",
        "get": "ContainerInspect",
        "delete": "ContainerDelete",
    }
    assert containers.item_path == "/containers/{id}"
    assert containers.id_field == "Id" and containers.id_type == "string"
    assert "ContainerList" not in unmapped


def test_override_builds_a_family_inference_left_out() -> None:
    doc, ops = loaded("discourse")
    overrides = {
        "families": {
            "categories": {
                "create": "createCategory",
                "get": "getCategory",
                "replace": "updateCategory",
            }
        }
    }
    families, unmapped = infer_families(doc, ops, overrides)
    categories = {f.name: f for f in families}["categories"]
    assert categories.collection_path == "/categories.json"
    assert categories.item_path == "/categories/{id}.json"  # not /c/{id}/show.json
    assert categories.operations == {
        "create": "createCategory",
        "get": "getCategory",
        "replace": "updateCategory",
    }
    assert categories.id_field == "id" and categories.id_param == "id"
    assert categories.item_envelope is not None and categories.item_envelope.key == "category"
    assert "getCategory" not in unmapped


def test_override_wins_over_inference_and_can_drop() -> None:
    doc, ops = loaded("digitalocean")
    overrides = {
        "families": {
            "volumes.snapshots": {
                "get": "volumeSnapshots_get_byId",
                "delete": "volumeSnapshots_delete_byId",
            },
            "volumes_snapshots": None,
            "droplets": {"delete": None, "id_field": "name"},
        },
        "unmapped": ["account_get"],
    }
    families, unmapped = infer_families(doc, ops, overrides)
    by_name = {f.name: f for f in families}
    merged = by_name["volumes.snapshots"]
    assert set(merged.operations) == {"list", "create", "get", "delete"}
    assert merged.item_path == "/v2/volumes/snapshots/{snapshot_id}"
    assert merged.id_param == "snapshot_id" and merged.parent_params == ("volume_id",)
    assert "volumes_snapshots" not in by_name
    assert "delete" not in by_name["droplets"].operations
    assert by_name["droplets"].id_field == "name"
    assert "droplets_destroy" in unmapped
    assert "account" not in by_name and "account_get" in unmapped


def test_override_declares_and_changes_singletons() -> None:
    doc, ops = loaded("digitalocean")
    overrides = {
        "families": {
            "balance": {"singleton": True, "get": "balance_get"},
            "registry": {"delete": None},
            "databases.eviction_policy": {"replace": None},
        }
    }
    families, unmapped = infer_families(doc, ops, overrides)
    by_name = {f.name: f for f in families}
    balance = by_name["balance"]
    assert balance.singleton and balance.collection_path == "/v2/customers/my/balance"
    assert balance.item_envelope is not None and balance.item_envelope.key is None
    assert set(by_name["registry"].operations) == {"create", "get"}
    policy = by_name["databases.eviction_policy"]
    assert policy.operations == {"get": "databases_get_evictionPolicy"}
    assert policy.parent_family == "databases"
    assert {"registry_delete", "databases_update_evictionPolicy"} <= set(unmapped)


@pytest.mark.parametrize(
    "overrides",
    [
        {"families": {"x": {"get": "noSuchOperation"}}},
        {"unmapped": ["noSuchOperation"]},
        {"families": {"droplets": {"colour": "blue"}}},
        {"families": {"droplets": {"list_key": "no_such_property"}}},
        {"families": {"droplets": "droplets_list"}},
        {"unmapped": "droplets_list"},
        {"families": {"x": {"singleton": True, "replace": "sshKeys_update"}}},
    ],
)
def test_override_errors_name_the_problem(overrides: dict[str, Any]) -> None:
    doc, ops = loaded("digitalocean")
    with pytest.raises(OverrideError):
        infer_families(doc, ops, overrides)


# -- one rule at a time ----------------------------------------------------------------


def test_list_envelope_with_href_total_and_summaries() -> None:
    summary = obj(itemId=STR, title=STR)
    doc, ops = doc_of(
        {
            "/item_summary": {
                "get": {
                    "operationId": "search",
                    "responses": ok(
                        obj(
                            href=STR,
                            total=INT,
                            itemSummaries={"type": "array", "items": summary},
                            warnings={"type": "array", "items": obj(message=STR)},
                        )
                    ),
                }
            },
            "/item_summary/{item_id}": {
                "get": {"operationId": "getOne", "responses": ok(summary)},
            },
        }
    )
    families, unmapped = infer_families(doc, ops)
    assert unmapped == []
    (f,) = families
    assert f.list_envelope is not None and f.list_envelope.key == "itemSummaries"
    assert f.id_field == "itemId"


def test_two_unnamed_arrays_leave_the_list_unmapped() -> None:
    thing = obj(id=INT)
    doc, ops = doc_of(
        {
            "/things": {
                "get": {
                    "operationId": "listThings",
                    "responses": ok(
                        obj(
                            first={"type": "array", "items": thing},
                            second={"type": "array", "items": thing},
                        )
                    ),
                }
            },
            "/things/{thing_id}": {"get": {"operationId": "getThing", "responses": ok(thing)}},
        }
    )
    families, unmapped = infer_families(doc, ops)
    assert [f.operations for f in families] == [{"get": "getThing"}]
    assert unmapped == ["listThings"]


def test_allof_items_and_refs_are_followed() -> None:
    doc, ops = doc_of(
        {
            "/v1/widgets": {
                "get": {
                    "operationId": "listWidgets",
                    "responses": ok(
                        obj(widgets={"type": "array", "items": {"$ref": "#/components/schemas/W"}})
                    ),
                },
                "post": {
                    "operationId": "createWidget",
                    "requestBody": body(obj(name=STR)),
                    "responses": ok(obj(widget={"$ref": "#/components/schemas/W"}), "201"),
                },
            },
            "/v1/widgets/{widget_id}": {
                "get": {
                    "operationId": "getWidget",
                    "responses": ok(obj(widget={"$ref": "#/components/schemas/W"})),
                }
            },
        },
        schemas={
            "Base": obj(id={"type": "string", "format": "uuid"}),
            "W": {"allOf": [{"$ref": "#/components/schemas/Base"}, obj(name=STR)]},
        },
    )
    (f,), unmapped = infer_families(doc, ops)
    assert unmapped == []
    assert f.name == "widgets"
    assert f.id_field == "id" and f.id_type == "string(uuid)"
    assert f.id_schema_pointer == "/components/schemas/Base/properties/id"
    assert f.item_envelope is not None
    assert f.item_envelope.key == "widget"
    assert f.item_envelope.item_pointer == "/components/schemas/W"


def test_bulk_bodies_are_not_creates() -> None:
    item = obj(key=STR, value=STR)
    doc, ops = doc_of(
        {
            "/attrs": {
                "get": {
                    "operationId": "listAttrs",
                    "responses": ok(obj(items={"type": "array", "items": item})),
                },
                "post": {
                    "operationId": "setAttrs",
                    "requestBody": body(obj(items={"type": "array", "items": item})),
                    "responses": ok(obj(items={"type": "array", "items": item})),
                },
            },
            "/attrs/{key}": {"get": {"operationId": "getAttr", "responses": ok(item)}},
        }
    )
    (f,), unmapped = infer_families(doc, ops)
    assert set(f.operations) == {"list", "get"} and f.id_field == "key"
    assert unmapped == ["setAttrs"]


def test_item_without_collection_needs_its_own_key() -> None:
    user = obj(id=INT, username=STR)
    doc, ops = doc_of(
        {
            "/u/{username}.json": {
                "get": {"operationId": "getUser", "responses": ok(obj(user=user))}
            },
            "/u/by-external/{external_id}.json": {
                "get": {"operationId": "getByExternal", "responses": ok(obj(user=user))}
            },
        }
    )
    families, unmapped = infer_families(doc, ops)
    assert [(f.name, f.id_field) for f in families] == [("u", "username")]
    assert unmapped == ["getByExternal"]


def test_post_on_a_verb_is_an_action_of_the_item() -> None:
    thing = obj(id=INT)
    doc, ops = doc_of(
        {
            "/things": {
                "get": {
                    "operationId": "listThings",
                    "responses": ok({"type": "array", "items": thing}),
                }
            },
            "/things/{id}": {"get": {"operationId": "getThing", "responses": ok(thing)}},
            "/things/{id}/start": {
                "post": {"operationId": "startThing", "responses": {"204": {"description": "x"}}}
            },
            "/things/{id}/logs": {
                "get": {"operationId": "thingLogs", "responses": ok(obj(lines=STR))}
            },
        }
    )
    (f,), unmapped = infer_families(doc, ops)
    assert f.operations["action:start"] == "startThing"
    assert unmapped == ["thingLogs"]


# -- what `apitwin inspect` prints -------------------------------------------------------


def test_inspection_lists_families_roles_and_unmapped_operations() -> None:
    doc, ops = loaded("digitalocean")
    families, unmapped = infer_families(doc, ops)
    text = format_inspection("digitalocean", families, unmapped, ops)
    lines = text.splitlines()
    mapped = len(ops) - len(unmapped)
    assert lines[0] == (
        f"digitalocean: {len(families)} resource families; "
        f"{mapped} of {len(ops)} operations mapped ({100 * mapped // len(ops)}%)"
    )
    header = next(line for line in lines if line.startswith("FAMILY"))
    assert header.split() == [
        "FAMILY",
        "KIND",
        "COLLECTION",
        "ITEM",
        "ID",
        "LIST",
        "KEY",
        "ITEM",
        "KEY",
    ]
    row = next(line for line in lines if line.startswith("droplets "))
    assert row.split() == [
        "droplets",
        "collection",
        "/v2/droplets",
        "/v2/droplets/{droplet_id}",
        "id",
        "(integer)",
        "droplets",
        "droplet",
    ]
    assert any(line.split() == ["list", "GET", "/v2/droplets", "droplets_list"] for line in lines)
    records = lines.index(next(line for line in lines if line.startswith("domains.records ")))
    assert lines[records + 1].strip() == "parent: domains via domain_name"
    account = next(line for line in lines if line.startswith("account "))
    assert account.split()[1:3] == ["singleton", "/v2/account"]
    start = lines.index(next(line for line in lines if line.startswith("Unmapped operations")))
    assert lines[start].startswith(f"Unmapped operations ({len(unmapped)})")
    assert [line.split()[-1] for line in lines[start + 1 :]] == unmapped
    assert any(line.split() == ["GET", "/v2/regions", "regions_list"] for line in lines[start:])


def test_inspection_shows_selectors_and_works_without_operations() -> None:
    doc, ops = loaded("dnd5e")
    families, unmapped = infer_families(doc, ops)
    text = format_inspection("dnd5e", families, unmapped)
    assert "GET  /api/{endpoint} [endpoint=ability-scores]  get_api_endpoint" in text
    assert text.splitlines()[0].startswith(f"dnd5e: {len(families)} resource families")
    assert f"of {len(ops)} operations" in text.splitlines()[0]
    assert text.rstrip().endswith(unmapped[-1])

"""The emulator's authentication and authorization (a classroom's two learners side by side).

A real emulator server and pymongo's own SCRAM-SHA-256: per-learner users made by the same
code the classroom runs (:func:`dbdojo.classroom.isolation.mongo_user`), the kit's admin
(:mod:`dbdojo.mongo.kitauth`), MongoDB's error codes (13 ``Unauthorized``, 18
``AuthenticationFailed``), users kept across a restart.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pymongo
import pymongo.errors
import pytest

from tests.helpers import Running, running_emulator


@pytest.fixture(scope="module")
def emulator() -> Iterator[Running]:
    yield from running_emulator()


@pytest.fixture(scope="module")
def room(emulator: Running) -> Iterator[dict]:
    """Authorization on, two learners with a document each in their own database."""
    from dbdojo.classroom import isolation, roster
    from dbdojo.connect import mongo_client
    from dbdojo.mongo import kitauth
    from dbdojo.workspace import Workspace

    assert kitauth.require()
    learners = {n: roster.new_learner(n) for n in ("ann", "bob")}
    with mongo_client() as admin:
        for name, learner in learners.items():
            isolation.mongo_user(admin, learner)
            admin[Workspace(learner.workspace).database].notes.insert_one({"by": name})
    yield learners
    kitauth.release()


def _url(emulator: Running, learner, password: str | None = None) -> str:
    from dbdojo.classroom import provision

    url = provision.mongo_url(learner)
    if password is not None:
        url = url.replace(quote(learner.mongo_password, safe=""), quote(password, safe=""))
    return url


def _client(url: str) -> pymongo.MongoClient:
    return pymongo.MongoClient(url, serverSelectionTimeoutMS=5000)


def _db(learner) -> str:
    from dbdojo.workspace import Workspace

    return Workspace(learner.workspace).database


def _refused(action, code: int = 13) -> str:
    with pytest.raises(pymongo.errors.OperationFailure) as caught:
        action()
    assert caught.value.code == code, caught.value.details
    return str(caught.value)


def test_a_learner_reads_and_writes_their_own_database(emulator, room):
    with _client(_url(emulator, room["ann"])) as ann:
        mine = ann.get_default_database()
        assert mine.name == _db(room["ann"])
        mine.notes.insert_one({"by": "ann", "n": 2})
        assert sorted(d["by"] for d in mine.notes.find({}, {"_id": 0})) == ["ann", "ann"]
        mine.notes.update_many({}, {"$set": {"seen": True}})
        assert mine.notes.count_documents({"seen": True}) == 2
        status = ann.admin.command("connectionStatus")
        assert status["ok"] == 1


def test_a_learner_cannot_read_write_list_or_drop_another_database(emulator, room):
    theirs = _db(room["bob"])
    with _client(_url(emulator, room["ann"])) as ann:
        other = ann[theirs]
        message = _refused(lambda: other.notes.find_one())
        assert f"not authorized on {theirs}" in message
        _refused(lambda: other.notes.insert_one({"by": "ann"}))
        _refused(lambda: other.notes.delete_many({}))
        _refused(lambda: other.list_collection_names())
        _refused(lambda: ann.drop_database(theirs))
        _refused(lambda: ann.admin.command("createUser", "x", pwd="y", roles=["root"]))
        _refused(  # an aggregation of their own writing into another's database
            lambda: list(
                ann[_db(room["ann"])].notes.aggregate([{"$out": {"db": theirs, "coll": "stolen"}}])
            )
        )
        assert ann.list_database_names() == [_db(room["ann"])]
        listed = ann.admin.command("listDatabases", authorizedDatabases=True)
        assert [d["name"] for d in listed["databases"]] == [_db(room["ann"])]
    from dbdojo.connect import mongo_client

    with mongo_client() as admin:  # bob's data untouched, nothing stolen
        assert [d["by"] for d in admin[theirs].notes.find()] == ["bob"]
        assert "stolen" not in admin[theirs].list_collection_names()


def test_a_learner_may_drop_their_own_database_only(emulator, room):
    from dbdojo.connect import mongo_client

    with _client(_url(emulator, room["ann"])) as ann:
        ann.drop_database(_db(room["ann"]))
    with mongo_client() as admin:
        assert admin[_db(room["ann"])].notes.count_documents({}) == 0
        assert admin[_db(room["bob"])].notes.count_documents({}) == 1
        admin[_db(room["ann"])].notes.insert_one({"by": "ann"})


def test_a_wrong_password_fails_authentication(emulator, room):
    with _client(_url(emulator, room["ann"], password="not-the-password")) as wrong:
        _refused(lambda: wrong[_db(room["ann"])].notes.find_one(), code=18)
    # ann's user with bob's password, and bob's user name against ann's database
    with _client(_url(emulator, room["ann"], password=room["bob"].mongo_password)) as wrong:
        _refused(lambda: wrong.admin.command("ping"), code=18)


def test_unauthenticated_clients_get_nothing(emulator, room):
    with pymongo.MongoClient(emulator.record.url, serverSelectionTimeoutMS=5000) as anonymous:
        assert anonymous.admin.command("ping")["ok"] == 1  # the handshake commands only
        assert anonymous.admin.command("buildInfo")["ok"] == 1
        message = _refused(lambda: anonymous[_db(room["bob"])].notes.find_one())
        assert message.startswith("Command find requires authentication")
        _refused(lambda: anonymous.list_database_names())
        _refused(lambda: anonymous[_db(room["bob"])].notes.insert_one({}))
        _refused(lambda: anonymous.admin.command("usersInfo", 1))
        _refused(  # no first-user exception once users exist
            lambda: anonymous.admin.command("createUser", "me", pwd="x", roles=["root"])
        )


def test_enforced_tells_a_server_that_refuses_strangers(emulator, room):
    """The classroom warns when a server would take the learners' users without enforcing
    them (a mongod without --auth); the URL's own credentials must not hide it."""
    from urllib.parse import quote

    from dbdojo.mongo import kitauth

    assert kitauth.enforced(emulator.record.url)
    secret = kitauth.credentials()
    assert secret is not None
    host = emulator.record.url.split("://", 1)[1].split("/", 1)[0]
    admin_url = (
        f"mongodb://{quote(secret['user'])}:{quote(secret['password'])}@{host}"
        "/?authSource=admin&directConnection=true"
    )
    with pymongo.MongoClient(admin_url, serverSelectionTimeoutMS=5000) as admin:
        assert admin.list_database_names()  # the URL's credentials do work
    assert kitauth.enforced(admin_url)


def test_a_server_without_access_control_is_not_enforced():
    from dbdojo.mongo import kitauth

    for plain in running_emulator():  # authorization off, as `dojo up` has it
        assert not kitauth.enforced(plain.record.url)


def test_the_kit_admin_sees_everything_and_users_show_no_secrets(emulator, room):
    from dbdojo.connect import mongo_client

    with mongo_client() as admin:
        names = admin.list_database_names()
        assert {_db(room["ann"]), _db(room["bob"])} <= set(names)
        info = admin[_db(room["ann"])].command("usersInfo", room["ann"].mongo_user)
        (user,) = info["users"]
        assert user["user"] == room["ann"].mongo_user and "credentials" not in user
        assert {r["role"] for r in user["roles"]} == {"readWrite", "dbAdmin"}
        assert all(r["db"] == _db(room["ann"]) for r in user["roles"])
    text = (Path(emulator.record.data_dir) / "users.json").read_text()
    assert room["ann"].mongo_password not in text and "storedKey" in text


def test_speculative_and_negotiated_authentication_as_pymongo_does_it(emulator, room):
    """pymongo asks ``saslSupportedMechs`` and starts SCRAM in ``hello``: both answered."""
    from pymongo import monitoring

    started: list[str] = []

    class Listener(monitoring.CommandListener):
        def started(self, event):
            started.append(event.command_name)

        def succeeded(self, event):
            pass

        def failed(self, event):
            pass

    with pymongo.MongoClient(
        _url(emulator, room["bob"]), serverSelectionTimeoutMS=5000, event_listeners=[Listener()]
    ) as bob:
        assert bob.get_default_database().notes.find_one()["by"] == "bob"
    assert "saslContinue" in started  # the exchange is seen...
    assert "saslStart" not in started  # ...and began speculatively, inside the handshake


def test_users_and_authorization_survive_a_restart(emulator, room):
    emulator.stop()
    emulator.start()
    with _client(_url(emulator, room["bob"])) as bob:
        assert bob.get_default_database().notes.find_one()["by"] == "bob"
        _refused(lambda: bob[_db(room["ann"])].notes.find_one())
    with pymongo.MongoClient(emulator.record.url, serverSelectionTimeoutMS=5000) as anonymous:
        _refused(lambda: anonymous[_db(room["bob"])].notes.find_one())


def test_a_dropped_user_is_refused_at_once(emulator, room):
    from dbdojo.classroom import isolation
    from dbdojo.connect import mongo_client

    learner = room["bob"]
    with _client(_url(emulator, learner)) as bob:
        bob.get_default_database().notes.find_one()
        with mongo_client() as admin:
            isolation.drop_mongo_user(admin, learner)
        _refused(lambda: bob.get_default_database().notes.find_one())
    with _client(_url(emulator, learner)) as again:
        _refused(lambda: again.admin.command("ping"), code=18)
    with mongo_client() as admin:
        isolation.mongo_user(admin, learner)


def test_answers_run_through_the_gate_which_logs_in_for_them(emulator, room):
    """The answer sandbox's gate authenticates its upstream connection as the kit (the
    answer's process never holds a password) and still confines the answer to its targets."""
    from dbdojo.checking import sandbox
    from dbdojo.checking.result import ResultSet
    from dbdojo.workspace import Workspace

    ann = Workspace(room["ann"].workspace)
    source = "db.notes.find({}, {'_id': 0, 'by': 1})"
    (result,) = sandbox.run_mongo(source, [ann], {}, 20).values()
    assert isinstance(result, ResultSet), result
    assert {str(row) for row in result.rows} and all("ann" in str(r) for r in result.rows)
    reach = f"db.client['{_db(room['bob'])}'].notes.find({{}})"
    (refused,) = sandbox.run_mongo(reach, [ann], {}, 20).values()
    assert not isinstance(refused, ResultSet)


def test_scram_sha_256_matches_rfc_7677():
    """The RFC's example exchange: the server accepts its proof and answers its signature."""
    import base64
    import hashlib

    from dbdojo.mongo.emulator import scram

    salt = base64.standard_b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
    client_key, server_key = scram.keys("pencil", salt, 4096)
    stored = {
        "iterationCount": 4096,
        "salt": "W22ZaJ0SNY7soEsUEjb6gQ==",
        "storedKey": base64.standard_b64encode(hashlib.sha256(client_key).digest()),
        "serverKey": base64.standard_b64encode(server_key),
    }
    conversation = scram.ServerConversation.start(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
    assert conversation.user == "user"
    conversation.server_first = (
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    )
    final = conversation.final(
        b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
        b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
        stored,
    )
    assert final == b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
    with pytest.raises(scram.ScramError):  # one bit of the proof changed
        conversation.final(
            b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
            b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVU=",
            stored,
        )

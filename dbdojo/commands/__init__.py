"""What ``dojo`` commands show and do beyond one layer: ``dojo lab`` (:mod:`.lab`), ``dojo
doctor`` (:mod:`.doctor`) and the tables and messages of ``up``/``down``/``status``
(:mod:`.report`). The top layer beside :mod:`dbdojo.cli`: nothing below imports it."""

"""What ``dojo`` commands show and do beyond one layer: ``dojo lab`` (:mod:`.lab`), ``dojo
doctor`` (:mod:`.doctor`), the tables and messages of ``up``/``down``/``status``
(:mod:`.report`), and the check server that answers ``dojo grade`` (:mod:`.grade_server`,
started and stopped by :mod:`.grade_control`, its client :mod:`.grade_client`). The top layer
beside :mod:`dbdojo.cli` and the launcher :mod:`dbdojo.entry`: nothing below imports it."""

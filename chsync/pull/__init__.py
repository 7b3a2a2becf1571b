"""Pull mode: ClickHouse reads Postgres itself (postgresql()), with the spec's SQL transpiled (transpile.py);
the reader (reader.py), the diff inside the sink (insink.py), and a chDB mirror of a server sink
(mirror.py) for servers that cannot read Postgres."""

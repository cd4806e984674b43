"""Contacts: the one customer record (DOMAIN.md §1) and everything done to it, in one place.

- :mod:`.normalise` — the one normaliser of emails and phones (E.164), used by every form,
  API, import and generator;
- :mod:`.keys` — the folded forms names are compared and searched by (pinyin, initials,
  traditional → simplified);
- :mod:`.duplicates` — finding the same person or company, find-or-create (single and bulk);
- :mod:`.merge` — merging two records, every reference moved, the history kept in the audit;
- :mod:`.search` — the search token index and the search queries;
- :mod:`.importing` — the import machinery every importer shares (file reading, header
  mapping with the usual Chinese/English headers, cell checks, the report) and the core
  contact import;
- :mod:`.history` and :mod:`.views` — the organization page and its merge page.

The models stay in :mod:`crm_expo.models.contacts` (they are imported while the models load,
so this package's ``__init__`` imports nothing).
"""

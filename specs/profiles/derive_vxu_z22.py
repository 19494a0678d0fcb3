#!/usr/bin/env python3
"""Derives specs/profiles/vxu_z22.toml from the NIST Z22 VXU profile (IG 1.5).

Usage: python3 derive_vxu_z22.py ../../../shared/reference/nist/VXU-Z22_Profile_NIST_2016.xml > vxu_z22.toml
The output is committed; rerun only when the NIST profile changes.
"""
import sys
import xml.etree.ElementTree as ET

# Primitive types whose length is meaningful as a whole field; composites are not length-checked.
PRIMITIVE = {"ST", "ID", "IS", "NM", "SI", "DT", "DTM", "TS", "TS_NZ", "TS_M", "TS_Z", "TM", "TX", "FT"}
# Segments whose fields we check; the rest are only placed in the structure.
CHECKED = {"MSH", "PID", "PD1", "NK1", "ORC", "RXA", "RXR", "OBX", "NTE"}

root = ET.parse(sys.argv[1]).getroot()
segs = {s.get("ID"): s for s in root.find("Segments")}
msg = root.find("Messages").find("Message")


def card(v):
    return '"*"' if v == "*" else v


def elements(node, indent):
    out = []
    for child in node:
        if child.tag == "Segment":
            name = segs[child.get("Ref")].get("Name")
            out.append(f'{indent}{{ segment = "{name}", usage = "{child.get("Usage")}", '
                       f'min = {child.get("Min")}, max = {card(child.get("Max"))} }},')
        elif child.tag == "Group":
            name = child.get("Name").split(".")[-1]
            out.append(f'{indent}{{ group = "{name}", usage = "{child.get("Usage")}", '
                       f'min = {child.get("Min")}, max = {card(child.get("Max"))}, children = [')
            out.extend(elements(child, indent + "  "))
            out.append(f"{indent}] }},")
    return out


print(f"""# The CDC IG 1.5 Z22 VXU^V04 profile as data: message structure (segment order, usage,
# cardinality) and, for the segments cairdx checks, each field's usage, cardinality,
# datatype and maximum length (primitive datatypes only).
# Derived by derive_vxu_z22.py from the NIST profile
# "{root.find('MetaData').get('Name')}" v{root.find('MetaData').get('Version')} ({root.find('MetaData').get('Date')}),
# shared/reference/nist/VXU-Z22_Profile_NIST_2016.xml (NIST, public domain).
# Usage: R required, RE required but may be empty, C conditional (checked by content rules),
# O optional, X not supported (reported as ignored when sent).

name = "vxu_z22"
message_type = "VXU"
trigger_event = "V04"
message_structure = "VXU_V04"
versions = ["2.5.1"]
processing_ids = ["P"]
profile_id = "Z22"
# IZ-16: MSH-16 accept acknowledgment types.
accept_ack_types = ["AL", "NE", "ER", "SU"]
# IZ-21: OBX-2 value types (CWE added by later IG errata).
obx_value_types = ["CE", "CWE", "NM", "ST", "DT", "ID", "TS"]
# Licensed and expected use windows and age bounds per CVX (AIRA codebase
# base/sets/vaccination_cvx_code.xml, snapshot 2025-12-09, Apache-2.0).
cvx_windows = "profiles/cvx_use_window.csv"
""")
print("structure = [")
print("\n".join(elements(msg, "  ")))
print("]")
seen = set()
for s in root.find("Segments"):
    name = s.get("Name")
    if name not in CHECKED or name in seen:
        continue
    seen.add(name)
    print(f'\n[[segment]]\nid = "{name}"\nfields = [')
    for i, f in enumerate(s.findall("Field"), start=1):
        dt = f.get("Datatype")
        length = f', len = {f.get("MaxLength")}' if dt in PRIMITIVE and f.get("MaxLength") not in (None, "*") else ""
        print(f'  {{ n = {i}, usage = "{f.get("Usage")}", min = {f.get("Min")}, max = {card(f.get("Max"))}, '
              f'dt = "{dt}"{length} }}, # {f.get("Name")}')
    print("]")

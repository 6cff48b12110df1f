//! pkt-lines and the receive-pack command section on any bytes: `parse_pkts` agrees with
//! packet-by-packet `next_pkt` and its packets re-encode to bytes that parse the same; an
//! accepted `parse_receive_request` ends inside the input, parses the same from its own
//! prefix, holds only well-formed distinct ref names, and the report-status built from it
//! frames as valid pkt-lines.

#![no_main]

use kura_git::pktline::{Pkt, next_pkt, parse_pkts};
use kura_git::{RefUpdateResult, check_ref_format, parse_receive_request, report_status};
use libfuzzer_sys::fuzz_target;

fn encode(pkts: &[Pkt<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for pkt in pkts {
        match pkt {
            Pkt::Data(data) => {
                out.extend_from_slice(format!("{:04x}", data.len() + 4).as_bytes());
                out.extend_from_slice(data);
            }
            Pkt::Flush => out.extend_from_slice(b"0000"),
            Pkt::Delim => out.extend_from_slice(b"0001"),
            Pkt::ResponseEnd => out.extend_from_slice(b"0002"),
        }
    }
    out
}

fn check_framing(data: &[u8]) {
    let whole = parse_pkts(data);
    let mut stepped = Vec::new();
    let mut at = 0;
    let stepped_ok = loop {
        if at == data.len() {
            break true;
        }
        match next_pkt(&data[at..]) {
            Ok(Some((pkt, len))) => {
                assert!(len >= 4 && at + len <= data.len(), "packet length out of the input");
                stepped.push(pkt);
                at += len;
            }
            Ok(None) | Err(_) => break false,
        }
    };
    match whole {
        Ok(pkts) => {
            assert!(stepped_ok, "parse_pkts accepted what next_pkt did not");
            assert_eq!(pkts, stepped);
            let encoded = encode(&pkts);
            assert_eq!(parse_pkts(&encoded).expect("re-encoded packets parse"), pkts);
            assert!(encoded.eq_ignore_ascii_case(data), "re-encoding changes only hex case");
        }
        Err(_) => assert!(!stepped_ok, "next_pkt accepted what parse_pkts did not"),
    }
}

fn check_receive(data: &[u8]) {
    let Ok(Some(request)) = parse_receive_request(data) else { return };
    assert!(request.pack_offset <= data.len(), "pack offset past the input");
    let again = parse_receive_request(&data[..request.pack_offset]).expect("the prefix parses");
    assert_eq!(again.as_ref(), Some(&request), "the command section parses alone");
    let mut names = std::collections::HashSet::new();
    for command in &request.commands {
        assert!(command.name.starts_with("refs/"), "{}", command.name);
        assert!(check_ref_format(&command.name).is_ok(), "{}", command.name);
        assert!(names.insert(command.name.as_str()), "ref {} twice", command.name);
    }
    let results: Vec<RefUpdateResult> = request
        .commands
        .iter()
        .enumerate()
        .map(|(i, c)| RefUpdateResult {
            name: c.name.clone(),
            error: (i % 2 == 1).then(|| request.push_options.join("\n")),
        })
        .collect();
    let unpack = request.push_options.first().map_or(Ok(()), |o| Err(o.as_str()));
    let report = report_status(&request.capabilities, unpack, &results);
    parse_pkts(&report).expect("the report is valid pkt-lines");
}

fuzz_target!(|data: &[u8]| {
    check_framing(data);
    check_receive(data);
});

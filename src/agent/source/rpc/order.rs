//! Answers go out in call order: an RPC client matches each answer to its call by position
//! (avro has no call id), so a connection answers its calls in the order it read them. Each
//! frame is numbered as it is read (`read.rs`); this asserts the numbers answered only rise.

use crate::agent::invariant;

/// Asserts that the call numbered `number` is answered after the last one (`answered`), and
/// records it: a client matches answers to its calls by their order (avro has no call id).
pub(super) fn in_call_order(answered: &mut u64, number: u64) {
    invariant::after(
        *answered,
        number,
        "an RPC connection's answers go out in call order",
    );
    *answered = number;
}

#[cfg(test)]
mod tests {
    use super::in_call_order;

    #[test]
    fn answers_in_the_order_read_pass() {
        let mut answered = 0;
        for n in [1, 2, 4, 5] {
            in_call_order(&mut answered, n);
        }
        assert_eq!(answered, 5);
    }

    #[test]
    #[should_panic(expected = "answers go out in call order: 2 does not come after 3")]
    fn an_answer_out_of_call_order_fires() {
        let mut answered = 0;
        for n in [1, 3, 2] {
            in_call_order(&mut answered, n);
        }
    }
}

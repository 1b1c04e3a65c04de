//! The work one keystore load may cost: a total of key-derivation iterations over every KDF
//! the load runs (the MAC's, each encrypted content's, each shrouded key's), not only a cap
//! per KDF. [`pbe::ITERATIONS_MAX`](super::pbe) bounds one derivation at 5,000,000 as the JDK
//! does, but a store may hold thousands of encrypted bags: 4,096 of them at that count kept
//! `config check` busy past 75 s (issue 87). Each derivation is charged before it runs, and
//! what the store's outer layer declares (its MAC and its encrypted contents) is charged
//! before any runs, so a store past the budget by its outer layer costs no derivation at all,
//! and any store at most the budget.

/// Key-derivation iterations one store load may run by default: four derivations at the
/// JDK's largest count. keytool's default store (JDK 12+: a MAC, a certificate content and a
/// key at 10,000 each) takes 30,000; `openssl pkcs12 -export` (OpenSSL 3: 2,048 each) takes
/// about 6,000; a store of a handful of bags at 600,000 each, a few million.
pub const KDF_ITERATIONS_BUDGET: u64 = 20_000_000;

/// The iterations a load has left.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KdfBudget {
    total: u64,
    spent: u64,
}

/// A load would pass its budget: the budget and the iterations it would have needed so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OverBudget {
    pub(crate) budget: u64,
    pub(crate) needed: u64,
}

impl KdfBudget {
    /// A budget of `total` iterations.
    pub(crate) fn new(total: u64) -> Self {
        KdfBudget { total, spent: 0 }
    }

    /// Charges `iterations` before they run; refused (nothing charged) past the budget.
    pub(crate) fn charge(&mut self, iterations: u64) -> Result<(), OverBudget> {
        let needed = self.spent.saturating_add(iterations);
        if needed > self.total {
            return Err(OverBudget {
                budget: self.total,
                needed,
            });
        }
        self.spent = needed;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_add_up_to_the_budget_and_one_past_it_is_refused_whole() {
        let mut b = KdfBudget::new(100);
        assert_eq!(b.charge(60), Ok(()));
        assert_eq!(b.charge(40), Ok(()));
        let over = OverBudget {
            budget: 100,
            needed: 101,
        };
        assert_eq!(b.charge(1), Err(over));
        assert_eq!(b.spent, 100, "a refused charge costs nothing");
        assert!(b.charge(u64::MAX).is_err(), "no overflow");
    }
}

//! Records kept in start order with O(1) insert at the end, O(1) removal
//! anywhere and stable keys: a slab threaded on a doubly-linked list.
//!
//! Both supervisors keep their children this way. A static supervisor
//! stops children in reverse start order and restarts a suffix of them
//! (rest_for_one) while children come and go at any position
//! (`delete_child`, a temporary child's exit); a DynamicSupervisor lists its
//! children in start order. Their lookups by id or pid are hash maps from
//! the id or pid to a [`Key`], which stays valid until that record is
//! removed.

use slab::Slab;

/// The key of a record: valid until the record is removed.
pub(crate) type Key = u32;

const NIL: Key = Key::MAX;

struct Node<T> {
    value: T,
    prev: Key,
    next: Key,
}

/// Records in start order.
pub(crate) struct StartOrder<T> {
    slab: Slab<Node<T>>,
    head: Key,
    tail: Key,
}

impl<T> StartOrder<T> {
    pub(crate) fn new() -> Self {
        StartOrder { slab: Slab::new(), head: NIL, tail: NIL }
    }

    pub(crate) fn len(&self) -> usize {
        self.slab.len()
    }

    /// Appends `value`: it comes after every record there is.
    pub(crate) fn push_back(&mut self, value: T) -> Key {
        let key = self.slab.insert(Node { value, prev: self.tail, next: NIL });
        let key = Key::try_from(key).ok().filter(|&k| k != NIL).expect("too many records");
        match self.tail {
            NIL => self.head = key,
            tail => self.slab[tail as usize].next = key,
        }
        self.tail = key;
        key
    }

    /// Removes the record `key` (which must be present).
    pub(crate) fn remove(&mut self, key: Key) -> T {
        let node = self.slab.remove(key as usize);
        match node.prev {
            NIL => self.head = node.next,
            prev => self.slab[prev as usize].next = node.next,
        }
        match node.next {
            NIL => self.tail = node.prev,
            next => self.slab[next as usize].prev = node.prev,
        }
        node.value
    }

    pub(crate) fn get(&self, key: Key) -> &T {
        &self.slab[key as usize].value
    }

    pub(crate) fn get_mut(&mut self, key: Key) -> &mut T {
        &mut self.slab[key as usize].value
    }

    /// The first record, in start order.
    pub(crate) fn first(&self) -> Option<Key> {
        (self.head != NIL).then_some(self.head)
    }

    /// The last record, in start order.
    pub(crate) fn last(&self) -> Option<Key> {
        (self.tail != NIL).then_some(self.tail)
    }

    /// The record started after `key`.
    pub(crate) fn next(&self, key: Key) -> Option<Key> {
        let next = self.slab[key as usize].next;
        (next != NIL).then_some(next)
    }

    /// The record started before `key`.
    pub(crate) fn prev(&self, key: Key) -> Option<Key> {
        let prev = self.slab[key as usize].prev;
        (prev != NIL).then_some(prev)
    }

    /// The records, in start order.
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = (Key, &T)> + '_ {
        Iter { order: self, front: self.head, back: self.tail }
    }
}

struct Iter<'a, T> {
    order: &'a StartOrder<T>,
    front: Key,
    back: Key,
}

impl<'a, T> Iter<'a, T> {
    /// Takes the record at the front (or the back) and moves that end
    /// inward; the two ends meet at the last record.
    fn take(&mut self, front: bool) -> Option<(Key, &'a T)> {
        let key = if front { self.front } else { self.back };
        if key == NIL {
            return None;
        }
        let node = &self.order.slab[key as usize];
        if self.front == self.back {
            (self.front, self.back) = (NIL, NIL);
        } else if front {
            self.front = node.next;
        } else {
            self.back = node.prev;
        }
        Some((key, &node.value))
    }
}

impl<'a, T> Iterator for Iter<'a, T> {
    type Item = (Key, &'a T);

    fn next(&mut self) -> Option<Self::Item> {
        self.take(true)
    }
}

impl<T> DoubleEndedIterator for Iter<'_, T> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.take(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(o: &StartOrder<u32>) -> Vec<u32> {
        o.iter().map(|(_, v)| *v).collect()
    }

    #[test]
    fn keeps_start_order_through_removals_anywhere() {
        let mut o = StartOrder::new();
        let keys: Vec<Key> = (0..5).map(|v| o.push_back(v)).collect();
        assert_eq!(o.remove(keys[0]), 0); // the head
        assert_eq!(o.remove(keys[2]), 2); // the middle
        assert_eq!(o.remove(keys[4]), 4); // the tail
        assert_eq!(values(&o), [1, 3]);
        assert_eq!(o.iter().rev().map(|(_, v)| *v).collect::<Vec<_>>(), [3, 1]);
        let five = o.push_back(5);
        assert_eq!(values(&o), [1, 3, 5]);
        assert_eq!((o.first(), o.last()), (Some(keys[1]), Some(five)));
        assert_eq!(o.next(keys[1]), Some(keys[3]));
        assert_eq!(o.prev(keys[3]), Some(keys[1]));
        assert_eq!(o.next(five), None);
        *o.get_mut(keys[3]) = 30;
        assert_eq!(*o.get(keys[3]), 30);
        for k in o.iter().map(|(k, _)| k).collect::<Vec<_>>() {
            o.remove(k);
        }
        assert_eq!((o.len(), o.first(), o.last()), (0, None, None));
        assert_eq!(o.iter().count(), 0);
    }

    #[test]
    fn iterates_from_both_ends_without_overlap() {
        let mut o = StartOrder::new();
        for v in 0..4 {
            o.push_back(v);
        }
        let mut it = o.iter();
        assert_eq!(it.next().map(|(_, v)| *v), Some(0));
        assert_eq!(it.next_back().map(|(_, v)| *v), Some(3));
        assert_eq!(it.next().map(|(_, v)| *v), Some(1));
        assert_eq!(it.next_back().map(|(_, v)| *v), Some(2));
        assert!(it.next().is_none() && it.next_back().is_none());
    }
}
